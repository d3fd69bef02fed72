/** Who is signed in (from /auth/status); the cookie itself is httpOnly and never touched here. */
import { api, type AuthStatus, type User } from './api/index.js';
import { downloads } from './offline/downloads.svelte.js';
import { clearOffline } from './offline/store.js';
import { theme } from './theme.svelte.js';

class SessionState {
  user = $state<User | null>(null);
  status = $state<AuthStatus | null>(null);
  loaded = $state(false);
  offline = $state(false);

  get isAdmin() {
    return this.user?.role === 'admin';
  }

  async refresh(): Promise<AuthStatus | null> {
    try {
      const status = await api.auth.status();
      this.status = status;
      this.user = status.user;
      this.offline = false;
      localStorage.setItem(
        'earshot.lastUser',
        JSON.stringify(status.user ? { username: status.user.username, role: status.user.role } : null),
      );
    } catch {
      // Server unreachable: keep browsing the last-synced library as the last signed-in user.
      this.offline = true;
      const last = localStorage.getItem('earshot.lastUser');
      const user = last ? (JSON.parse(last) as Pick<User, 'username' | 'role'> | null) : null;
      this.user = user ? { id: '', createdAt: 0, ...user } : null;
      this.status = { setupRequired: false, registration: 'closed', user: this.user };
    }
    this.loaded = true;
    return this.status;
  }

  async logout() {
    try {
      await api.auth.logout();
    } finally {
      this.user = null;
      localStorage.removeItem('earshot.lastUser');
      await clearOffline();
      await downloads.clear().catch(() => undefined);
      theme.reset();
    }
  }
}

export const session = new SessionState();
