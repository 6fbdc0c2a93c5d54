/**
 * Slack's posted approvals (the SlackApprovalPosts port), the same assertions on SQLite and on
 * PostgreSQL: an approval is claimed before it is posted and only the claimer posts; a recorded
 * post is never claimed again; a claim whose post failed is released and claimed again by the next
 * pass; a claim whose holder died is taken over only after CLAIM_TIMEOUT_MS; an approval posted
 * before claims existed (a post row, no claim) is not posted again. Across instances on one
 * database: several announcers running one announcement pass at once post each approval once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLAIM_TIMEOUT_MS } from '../../../src/triggers/slack/approval-posts.js';
import { PgSlackApprovalPosts, SqliteSlackApprovalPosts } from '../../../src/triggers/slack/index.js';
import type { SlackApprovalPosts } from '../../../src/triggers/slack/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const T0 = Date.UTC(2026, 0, 19, 14);

describe.each(STORE_KINDS)('Slack approval posts on %s', (kind) => {
  let opened: OpenedStore;
  const instance = (): SlackApprovalPosts => (opened.kind === 'sqlite' ? new SqliteSlackApprovalPosts(opened.db) : new PgSlackApprovalPosts(opened.db));
  let posts: SlackApprovalPosts;

  beforeEach(async () => {
    opened = await openStore(kind, 'slack');
    posts = instance();
  });
  afterEach(() => opened.close());

  /** One announcer's pass, as slack-app.ts runs it: claim, post, record (or release on failure). */
  async function announce(store: SlackApprovalPosts, ids: readonly string[], post: (id: string) => Promise<{ channel: string; ts: string }>, now = T0): Promise<string[]> {
    const posted: string[] = [];
    for (const id of ids) {
      const claim = await store.claim(id, now);
      if (claim === undefined) continue;
      let result: { channel: string; ts: string };
      try {
        result = await post(id);
      } catch {
        await store.release(id, claim);
        continue;
      }
      await store.record(id, result.channel, result.ts, now);
      posted.push(id);
    }
    return posted;
  }

  it('the claimer posts and records; a posted approval is never claimed again', async () => {
    const claim = await posts.claim('appr_1', T0);
    expect(claim).toEqual(expect.any(String));
    expect(await posts.claim('appr_1', T0)).toBeUndefined();
    await posts.record('appr_1', 'C1', '171.1', T0);
    expect(await posts.posted('appr_1')).toEqual({ channel: 'C1', ts: '171.1' });
    expect(await posts.claim('appr_1', T0 + 10 * CLAIM_TIMEOUT_MS)).toBeUndefined();
  });

  it('a claim whose post failed is released, and the next pass posts it', async () => {
    let fail = true;
    const post = async () => {
      if (fail) throw new Error('Slack is down');
      return { channel: 'C1', ts: '171.2' };
    };
    expect(await announce(posts, ['appr_1'], post)).toEqual([]);
    expect(await posts.posted('appr_1')).toBeUndefined();
    fail = false;
    expect(await announce(posts, ['appr_1'], post, T0 + 3000)).toEqual(['appr_1']);
    expect(await posts.posted('appr_1')).toEqual({ channel: 'C1', ts: '171.2' });
  });

  it('a claim left by an announcer that died is taken over once it is older than the timeout, not before', async () => {
    const dead = await posts.claim('appr_1', T0);
    expect(dead).toBeDefined();
    expect(await instance().claim('appr_1', T0 + CLAIM_TIMEOUT_MS - 1)).toBeUndefined();
    const taken = await instance().claim('appr_1', T0 + CLAIM_TIMEOUT_MS);
    expect(taken).toBeDefined();
    // The dead claim's release (it came back after all) no longer frees the approval.
    await posts.release('appr_1', dead!);
    expect(await instance().claim('appr_1', T0 + CLAIM_TIMEOUT_MS)).toBeUndefined();
  });

  it('an approval posted before claims existed is not posted again', async () => {
    const sql = 'INSERT INTO slack_approval_posts (approval_id, channel, ts, posted_at) VALUES (\'appr_old\', \'C1\', \'170.1\', 1)';
    if (opened.kind === 'sqlite') opened.db.exec(sql);
    else await opened.db.query(sql);
    expect(await posts.claim('appr_old', T0)).toBeUndefined();
    expect(await posts.claim('appr_old', T0 + 10 * CLAIM_TIMEOUT_MS)).toBeUndefined();
  });

  describe('across instances on one database', () => {
    it('three announcers passing over the same approvals at once post each one once', async () => {
      const ids = Array.from({ length: 10 }, (_, i) => `appr_${i}`);
      const slack: string[] = [];
      const post = async (id: string) => {
        slack.push(id);
        // A post takes a while: the other announcers run meanwhile.
        await new Promise((resolve) => setImmediate(resolve));
        return { channel: 'C1', ts: `171.${slack.length}` };
      };
      const passes = await Promise.all([announce(instance(), ids, post), announce(instance(), ids, post), announce(instance(), [...ids].reverse(), post)]);
      expect([...slack].sort()).toEqual([...ids].sort());
      expect(passes.flat().sort()).toEqual([...ids].sort());
      for (const id of ids) expect(await posts.posted(id)).toBeDefined();
    });
  });
});
