/** Whether the server answered the last request, and how old the offline copy being shown is. */
class Connection {
  online = $state(true);
  staleSince = $state<number | null>(null);

  setOnline(value: boolean) {
    if (this.online !== value) this.online = value;
    if (value) this.staleSince = null;
  }

  markStale(savedAt: number) {
    if (this.staleSince === null || savedAt < this.staleSince) this.staleSince = savedAt;
  }
}

export const connection = new Connection();
