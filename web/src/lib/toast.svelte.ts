export interface Toast {
  id: number;
  message: string;
  kind: 'info' | 'error';
}

class Toasts {
  list = $state<Toast[]>([]);
  #next = 1;

  show(message: string, kind: Toast['kind'] = 'info') {
    const id = this.#next++;
    // Confirmations replace each other instead of piling up (adding ten tracks one after another
    // shows one toast); errors stay until read or timed out, at most three on screen.
    const kept = this.list.filter((t) => t.kind === 'error' && t.message !== message);
    this.list = [...kept.slice(-2), { id, message, kind }];
    setTimeout(() => this.dismiss(id), kind === 'error' ? 7000 : 3500);
  }

  /** Drops the confirmations on screen (a new action has started; its own result follows). */
  clearInfo() {
    this.list = this.list.filter((t) => t.kind !== 'info');
  }

  error(err: unknown) {
    this.show(err instanceof Error ? err.message : String(err), 'error');
  }

  dismiss(id: number) {
    this.list = this.list.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
