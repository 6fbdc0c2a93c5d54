/**
 * @module The typed Sendoso API v3 client: the twelve documented operations, each validated with
 * zod on the way in and out. Money comes back as integer cents and ids are branded.
 */
import { z } from 'zod';
import {
  egiftLinksCreatedWire,
  groupMemberWire,
  listShapes,
  meWire,
  sendCreatedWire,
  touchEnvelopeWire,
  userInvitationWire,
} from '../domain/index.js';
import type {
  AddressCollectionSendBody,
  DeliveryType,
  EgiftLinksBody,
  EgiftLinksCreated,
  EgiftSendBody,
  Group,
  GroupId,
  GroupMember,
  InviteUserBody,
  ListName,
  Me,
  PhysicalSendBody,
  RateLimitInfo,
  Send,
  SendCreated,
  Touch,
  TouchId,
  User,
  UserInvitation,
} from '../domain/index.js';
import { InvalidResponseError } from './errors.js';
import type { SendosoHttp, SendosoRequest } from './http.js';
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

export interface EgiftCreateParams {
  readonly touchId: TouchId;
  readonly email: string;
  readonly name?: string;
  readonly customMessage?: string;
}

export interface PhysicalCreateParams {
  readonly touchId: TouchId;
  readonly name: string;
  readonly email: string;
  readonly address: string;
  readonly city: string;
  readonly state: string;
  readonly zip: string;
  readonly country: string;
  /** Required by Sendoso for any address outside the US. */
  readonly mobileNo?: string;
  readonly customMessage?: string;
}

export interface AddressCollectionCreateParams {
  readonly touchId: TouchId;
  readonly name: string;
  readonly email: string;
  readonly customMessage?: string;
  /** `email`: Sendoso emails the recipient; `link`: a link comes back for the sender to share. */
  readonly confirmationVia?: 'email' | 'link';
  /** Days the address form stays open: 2 to 7. */
  readonly expireAfterDays: number;
  readonly hideProductInfo?: boolean;
  readonly confirmationMessage?: string;
}

export interface EgiftLinksCreateParams {
  readonly touchId: TouchId;
  readonly emails: readonly string[];
}

/** A parsed result together with the rate-limit state the response reported. */
export interface WithRateLimit<T> {
  readonly data: T;
  readonly rateLimit: RateLimitInfo | undefined;
}

export interface SendosoClientOptions {
  /** Identifies the calling application on every send; Sendoso asks that it never change. */
  readonly viaFrom?: string;
}

/** The Sendoso API v3 client. Construct with {@link createSendosoClient}. */
export interface SendosoClient {
  /** The underlying transport, for callers (the tool layer) that build requests themselves. */
  readonly http: SendosoHttp;
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
    listAll(): AsyncGenerator<Send, void, undefined>;
    createEgift(params: EgiftCreateParams): Promise<WithRateLimit<SendCreated>>;
    createPhysical(params: PhysicalCreateParams): Promise<WithRateLimit<SendCreated>>;
    createAddressCollection(params: AddressCollectionCreateParams): Promise<WithRateLimit<SendCreated>>;
    generateEgiftLinks(params: EgiftLinksCreateParams): Promise<WithRateLimit<EgiftLinksCreated>>;
  };
}

/** Builds the client over an HTTP transport. */
export function createSendosoClient(http: SendosoHttp, options: SendosoClientOptions = {}): SendosoClient {
  const viaFrom = options.viaFrom ?? 'giftguard';

  async function call<S extends z.ZodType>(request: SendosoRequest, schema: S): Promise<WithRateLimit<z.output<S>>> {
    const response = await http.request(request);
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

  async function listPage<N extends ListName>(name: N, path: string, params: PageParams & Record<string, unknown>) {
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
    );
    return data as Page<z.output<(typeof listShapes)[N]['item']>>;
  }

  const post = <S extends z.ZodType>(path: string, body: unknown, schema: S) => call({ method: 'POST', path, body }, schema);
  const get = async <S extends z.ZodType>(path: string, schema: S) => (await call({ method: 'GET', path }, schema)).data;

  return {
    http,
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
      listAll: () => paginate((page, perPage) => listPage('sends', '/send', { page, perPage }), { key: (s) => s.id }),
      createEgift: (p) => {
        const body: EgiftSendBody = {
          send: {
            touch_id: p.touchId,
            email: p.email,
            ...(p.name !== undefined && { name: p.name }),
            ...(p.customMessage !== undefined && { custom_message: p.customMessage }),
            via: 'single_email_address',
            via_from: viaFrom,
          },
        };
        return post('/send', body, sendCreatedWire);
      },
      createPhysical: (p) => {
        const body: PhysicalSendBody = {
          send: {
            touch_id: p.touchId,
            name: p.name,
            email: p.email,
            address: p.address,
            city: p.city,
            state: p.state,
            zip: p.zip,
            country: p.country,
            ...(p.mobileNo !== undefined && { mobile_no: p.mobileNo }),
            ...(p.customMessage !== undefined && { custom_message: p.customMessage }),
            confirm_address: false,
            via: 'single_person_or_company',
            via_from: viaFrom,
          },
        };
        return post('/send', body, sendCreatedWire);
      },
      createAddressCollection: (p) => {
        const body: AddressCollectionSendBody = {
          send: {
            touch_id: p.touchId,
            name: p.name,
            email: p.email,
            ...(p.customMessage !== undefined && { custom_message: p.customMessage }),
            no_address: true,
            confirm_address: true,
            address_confirmation_via: p.confirmationVia ?? 'email',
            // Sendoso's docs say to leave this false for address collection: never ship unconfirmed.
            resume_with_unconfirmed_address: false,
            expire_after_days: p.expireAfterDays,
            hide_product_info: p.hideProductInfo ?? false,
            ...(p.confirmationMessage !== undefined && { address_confirmation_custom_message: p.confirmationMessage }),
            via: 'single_person_or_company',
            via_from: viaFrom,
          },
        };
        return post('/send', body, sendCreatedWire);
      },
      generateEgiftLinks: (p) => {
        const body: EgiftLinksBody = {
          send: {
            touch_id: p.touchId,
            via: 'generate_egift_links',
            via_from: viaFrom,
            recipient_users: p.emails.map((email) => ({ email })),
          },
        };
        return post('/send/generate_egift_links', body, egiftLinksCreatedWire);
      },
    },
  };
}
