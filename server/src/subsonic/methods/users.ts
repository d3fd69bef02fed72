/**
 * Users and scanning. Roles map from Earshot's two roles; admin-only methods answer error 50 to
 * everyone else. `changePassword` changes the web login password: an administrator may do it for
 * anyone; a user changes their own in the web app (an app password must not be able to take over
 * the account).
 */
import type { UserRow } from '../../accounts/users.repository.js';
import { Conflict } from '../../shared/errors.js';
import type { Ctx, Method } from '../context.js';
import { requireAdminUser } from '../context.js';
import type { Node } from '../envelope.js';
import { ErrorCode, SubsonicError } from '../errors.js';

function decode(p: string): string {
  return p.startsWith('enc:') ? Buffer.from(p.slice(4), 'hex').toString('utf8') : p;
}

function userNode(u: UserRow): Node {
  const admin = u.role === 'admin';
  return {
    username: u.username,
    email: u.email ?? undefined,
    scrobblingEnabled: true,
    adminRole: admin,
    settingsRole: true,
    downloadRole: true,
    uploadRole: admin,
    playlistRole: true,
    coverArtRole: admin,
    commentRole: false,
    podcastRole: false,
    streamRole: true,
    jukeboxRole: false,
    shareRole: true,
    videoConversionRole: false,
    folder: [1],
  };
}

async function byName(ctx: Ctx, name: string): Promise<UserRow> {
  try {
    return await ctx.deps.accounts.users.getByName(name);
  } catch {
    throw new SubsonicError(ErrorCode.NotFound, `User not found: ${name}`);
  }
}

export const userMethods: Record<string, Method> = {
  getUser: async (ctx) => {
    const name = ctx.params.str('username') || ctx.user.username;
    if (name.toLowerCase() !== ctx.user.username.toLowerCase()) requireAdminUser(ctx);
    return { user: userNode(await byName(ctx, name)) };
  },

  getUsers: async (ctx) => {
    requireAdminUser(ctx);
    return { users: { user: (await ctx.deps.accounts.users.list()).map(userNode) } };
  },

  createUser: async (ctx) => {
    requireAdminUser(ctx);
    const p = ctx.params;
    const username = p.req('username');
    const password = decode(p.req('password'));
    p.req('email');
    await ctx.deps.accounts.users.create({ username, password, role: p.bool('adminRole', false) ? 'admin' : 'user' });
    return {};
  },

  updateUser: async (ctx) => {
    requireAdminUser(ctx);
    const p = ctx.params;
    const user = await byName(ctx, p.req('username'));
    await ctx.deps.accounts.users.adminUpdate(user.id, {
      role: p.has('adminRole') ? (p.bool('adminRole', false) ? 'admin' : 'user') : undefined,
      password: p.has('password') ? decode(p.req('password')) : undefined,
    });
    return {};
  },

  deleteUser: async (ctx) => {
    requireAdminUser(ctx);
    const user = await byName(ctx, ctx.params.req('username'));
    if (user.id === ctx.user.id) throw new Conflict('You cannot delete your own account here.');
    await ctx.deps.accounts.users.delete(user.id);
    return {};
  },

  changePassword: async (ctx) => {
    const name = ctx.params.req('username');
    const password = decode(ctx.params.req('password'));
    if (ctx.user.role !== 'admin') {
      throw new SubsonicError(
        ErrorCode.NotAuthorized,
        'Change your own password in the Earshot web app (Settings); apps use app passwords.',
      );
    }
    const user = await byName(ctx, name);
    await ctx.deps.accounts.users.resetPassword(user.id, password);
    return {};
  },

  getScanStatus: async (ctx) => ({ scanStatus: await scanStatus(ctx) }),

  startScan: async (ctx) => {
    requireAdminUser(ctx);
    try {
      await ctx.deps.library.startScan({ trigger: 'subsonic', full: ctx.params.bool('fullScan', false) });
    } catch (err) {
      if (!(err instanceof Conflict)) throw err; // already scanning: report its status
    }
    return { scanStatus: await scanStatus(ctx) };
  },
};

async function scanStatus(ctx: Ctx): Promise<Node> {
  const status = await ctx.deps.library.status();
  const count = status.running ? (status.progress?.filesDone ?? 0) : await ctx.deps.browse.trackCount();
  return { scanning: status.running, count };
}
