import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands.js';

describe('the command table', () => {
  it('lists each command with the name and summary its own module gives', async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect({ name: command.name, summary: command.summary }).toEqual({ name: entry.name, summary: entry.summary });
    }
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
  });
});
