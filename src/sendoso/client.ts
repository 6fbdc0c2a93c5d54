/**
 * @module The typed Sendoso API v3 client for reading: users, groups, campaigns and the send
 * history, each answer validated with zod. Money comes back as integer cents and ids are branded.
 * Sends are not here on purpose: there is one way to build a send body, the tool catalogue's, and
 * one way to dispatch it, through the guard.
 */
import { z } from 'zod';
import { groupMemberWire, listShapes, meWire, touchEnvelopeWire, userInvitationWire } from '../domain/index.js';
import type {
  DeliveryType,
  Group,
  GroupId,
  GroupMember,
  InviteUserBody,
  ListName,
  Me,
  RateLimitInfo,
  Send,
  Touch,
  TouchId,
  User,
  UserInvitation,
} from '../domain/index.js';
import { InvalidResponseError } from './errors.js';
import type { CallOptions, SendosoRequest, SendosoTransport } from './http.js';
import { MAX_PER_PAGE, paginate } from './paginate.js';
import type { Page } from './paginate.js';

export interface PageParams {
  readonly page?: number;
  readonly perPage?: number;
}

export interface TouchListParams extends PageParams {
  /** `mail` for physical campaigns, `email` for eGift campaigns. */
  readonly deliveryType?: DeliveryType;
}

export interface UserInviteParams {
  readonly firstName: string;
  readonly lastName: string;
  readonly email: string;
  readonly role: 'regular' | 'manager';
  readonly teamGroupId: GroupId;
}

/** A parsed result together with the rate-limit state the response reported. */
export interface WithRateLimit<T> {
  readonly data: T;
  readonly rateLimit: RateLimitInfo | undefined;
}

/** The Sendoso API v3 client. Construct with {@link createSendosoClient}. */
export interface SendosoClient {
  /** The transport underneath (the gateway in production), for callers that build requests themselves. */
  readonly transport: SendosoTransport;
  readonly me: { retrieve(): Promise<Me> };
  readonly users: {
    list(params?: PageParams): Promise<Page<User>>;
    listAll(): AsyncGenerator<User, void, undefined>;
    invite(params: UserInviteParams): Promise<UserInvitation>;
  };
  readonly groups: {
    list(params?: PageParams): Promise<Page<Group>>;
    listAll(): AsyncGenerator<Group, void, undefined>;
    /** Every member of a team group (Sendoso returns them all at once, unpaginated). */
    listMembers(groupId: GroupId): Promise<GroupMember[]>;
  };
  readonly touches: {
    list(params?: TouchListParams): Promise<Page<Touch>>;
    listAll(params?: Omit<TouchListParams, keyof PageParams>): AsyncGenerator<Touch, void, undefined>;
    retrieve(id: TouchId): Promise<Touch>;
  };
  readonly sends: {
    list(params?: PageParams): Promise<Page<Send>>;
    /** Newest first; `options` apply to every page (reconciliation waits longer than a person). */
    listAll(options?: CallOptions): AsyncGenerator<Send, void, undefined>;
  };
}

/** Builds the client over a transport (the gateway in production). */
export function createSendosoClient(transport: SendosoTransport): SendosoClient {
  async function call<S extends z.ZodType>(request: SendosoRequest, schema: S, options?: CallOptions): Promise<WithRateLimit<z.output<S>>> {
    const response = await transport.request(request, options);
    const parsed = schema.safeParse(response.body);
    if (!parsed.success) {
      throw new InvalidResponseError(
        'invalid_response',
        `Sendoso's answer to ${request.method} ${request.path} did not match the documented shape: ${z.prettifyError(parsed.error)}`,
        // A POST that succeeded but cannot be read still happened; reconciliation finds it.
        { status: response.status, outcome: request.method === 'GET' ? 'not_sent' : 'unknown' },
      );
    }
    return { data: parsed.data, rateLimit: response.rateLimit };
  }

  async function listPage<N extends ListName>(name: N, path: string, params: PageParams & Record<string, unknown>, options?: CallOptions) {
    const shape = listShapes[name];
    const envelope = z
      .object({
        current_page: z.coerce.number().int(),
        per_page: z.coerce.number().int(),
        [shape.totalKey]: z.coerce.number().int(),
        [shape.itemsKey]: z.array(shape.item as z.ZodType),
      })
      .transform((w) => ({
        page: w.current_page,
        perPage: w.per_page,
        total: w[shape.totalKey] as number,
        items: w[shape.itemsKey] as z.output<(typeof listShapes)[N]['item']>[],
      }));
    const { page, perPage, ...rest } = params;
    const { data } = await call(
      { method: 'GET', path, query: { ...(rest as Record<string, string>), page: page ?? 1, per_page: perPage ?? MAX_PER_PAGE } },
      envelope,
      options,
    );
    return data as Page<z.output<(typeof listShapes)[N]['item']>>;
  }

  const post = <S extends z.ZodType>(path: string, body: unknown, schema: S) => call({ method: 'POST', path, body }, schema);
  const get = async <S extends z.ZodType>(path: string, schema: S) => (await call({ method: 'GET', path }, schema)).data;

  return {
    transport,
    me: { retrieve: () => get('/me', meWire) },
    users: {
      list: (params = {}) => listPage('users', '/users', { ...params }),
      listAll: () => paginate((page, perPage) => listPage('users', '/users', { page, perPage }), { key: (u) => u.id }),
      invite: async (p) => {
        const body: InviteUserBody = {
          user: { first_name: p.firstName, last_name: p.lastName, email: p.email, role: p.role, team_group_id: p.teamGroupId },
        };
        return (await post('/users', body, userInvitationWire)).data;
      },
    },
    groups: {
      list: (params = {}) => listPage('groups', '/groups', { ...params }),
      listAll: () => paginate((page, perPage) => listPage('groups', '/groups', { page, perPage }), { key: (g) => g.id }),
      listMembers: (groupId) => get(`/groups/${encodeURIComponent(groupId)}/members`, z.array(groupMemberWire)),
    },
    touches: {
      list: ({ deliveryType, ...page } = {}) => listPage('touches', '/touches', { ...page, delivery_type: deliveryType }),
      listAll: ({ deliveryType } = {}) =>
        paginate((page, perPage) => listPage('touches', '/touches', { page, perPage, delivery_type: deliveryType }), {
          key: (t) => t.id,
        }),
      retrieve: async (id) => (await get(`/touches/${encodeURIComponent(id)}`, touchEnvelopeWire)).touch,
    },
    sends: {
      list: (params = {}) => listPage('sends', '/send', { ...params }),
      listAll: (options) => paginate((page, perPage) => listPage('sends', '/send', { page, perPage }, options), { key: (s) => s.id }),
    },
  };
}
