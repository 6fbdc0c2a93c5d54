/**
 * @module The Sendoso API v3 catalogue: the twelve documented operations as tools, plus the legacy
 * tracking-code lookup that Sendoso no longer documents — kept here without a documentation record,
 * so it is deliberately not exposed.
 */
import { z } from 'zod';
import {
  egiftLinksCreatedWire,
  groupMemberWire,
  groupWire,
  meWire,
  sendCreatedWire,
  sendWire,
  touchEnvelopeWire,
  touchWire,
  userInvitationWire,
  userWire,
} from '../../domain/index.js';
import type { Catalogue } from './types.js';

const page = {
  page: z.number().int().min(1).optional().describe('Page number, starting at 1 (default 1).'),
  per_page: z.number().int().min(1).max(100).optional().describe('Items per page, 1 to 100 (default 100 here).'),
};

const envelope = (totalKey: string, itemsKey: string, item: z.ZodType) =>
  z.object({ current_page: z.number(), per_page: z.number(), [totalKey]: z.number(), [itemsKey]: z.array(item) });

const touchIdArg = z
  .number()
  .int()
  .positive()
  .describe('The campaign (touch) id. Get it from list_all_sendoso_campaigns; never guess it.');
const recipientEmail = z.email().describe("The recipient's email address.");
const customMessage = z.string().max(1000).optional().describe('Optional message for the recipient (eGift email body or printed notecard).');

/** The Sendoso catalogue, in the order tools are listed. */
export const sendosoCatalogue: Catalogue = [
  {
    toolName: 'list_all_sendoso_me',
    resource: 'me',
    method: 'list',
    http: { method: 'GET', path: '/me' },
    tags: ['users'],
    response: meWire,
    docs: {
      title: 'Who am I in Sendoso',
      description:
        'Returns the Sendoso user giftguard acts as: id, name, email, role, personal balance and the team balance (amounts in USD as Sendoso writes them, e.g. "578.0").',
    },
  },
  {
    toolName: 'list_all_sendoso_users',
    resource: 'users',
    method: 'list',
    http: { method: 'GET', path: '/users' },
    tags: ['users'],
    query: z.strictObject(page),
    response: envelope('total_users', 'users', userWire),
    docs: {
      title: 'List Sendoso users',
      description:
        'Lists the active users of the Sendoso organization (id, first_name, last_name, email, team_group_id), one page at a time; total_users says how many there are.',
    },
  },
  {
    toolName: 'create_a_sendoso_user',
    resource: 'users',
    method: 'create',
    http: { method: 'POST', path: '/users' },
    tags: ['users'],
    body: {
      wrap: 'user',
      schema: z.strictObject({
        first_name: z.string().min(1).describe('First name of the person to invite.'),
        last_name: z.string().min(1).describe('Last name.'),
        email: z.email().describe('Their work email; the invitation goes there.'),
        role: z.enum(['regular', 'manager']).describe('"regular" sends gifts; "manager" also approves and manages budgets.'),
        team_group_id: z.number().int().positive().describe('The team group to join; get ids from list_all_sendoso_groups.'),
      }),
    },
    response: userInvitationWire,
    docs: {
      title: 'Invite a Sendoso user',
      description:
        'Invites a person into a Sendoso team group. The invitation is pending until they accept, so they do not appear in list_all_sendoso_users yet. Costs nothing.',
    },
  },
  {
    toolName: 'list_all_sendoso_groups',
    resource: 'groups',
    method: 'list',
    http: { method: 'GET', path: '/groups' },
    tags: ['groups'],
    query: z.strictObject(page),
    response: envelope('total_groups', 'groups', groupWire),
    docs: {
      title: 'List Sendoso team groups and budgets',
      description:
        'Lists the team groups (id, name, budget, monthly_budget, one_time_budget, rollover). Use it to turn a group name such as "Enterprise Sales" into its id and to see its available budget in USD.',
    },
  },
  {
    toolName: 'list_all_sendoso_team_group_users',
    resource: 'team_group_users',
    method: 'list',
    http: { method: 'GET', path: '/groups/{team_group_id}/members' },
    tags: ['groups', 'users'],
    pathParams: z.strictObject({
      team_group_id: z.number().int().positive().describe('The team group id, from list_all_sendoso_groups.'),
    }),
    response: z.array(groupMemberWire),
    resultKey: 'members',
    docs: {
      title: 'List the members of a team group',
      description:
        'Lists every member of one team group at once (id, name, email, personal balance). Get team_group_id from list_all_sendoso_groups first. Answers "Group not found!" for an unknown id.',
    },
  },
  {
    toolName: 'list_all_sendoso_campaigns',
    resource: 'campaigns',
    method: 'list',
    http: { method: 'GET', path: '/touches' },
    tags: ['campaigns'],
    query: z.strictObject({
      ...page,
      delivery_type: z
        .enum(['mail', 'email'])
        .optional()
        .describe('"mail" for physical gifts, "email" for eGifts; omit for both.'),
    }),
    response: envelope('total_posts', 'touches', touchWire),
    docs: {
      title: 'List active Sendoso campaigns (touches)',
      description:
        'Lists the active campaigns ("touches") you can send: id, name, delivery_type (mail = physical, email = eGift), eGift price range, start/end dates and ship_to_countries. Every send tool needs a touch id from here: look the campaign up by name, never invent an id. total_posts is the number of campaigns.',
      examples: [{ note: 'Only eGift campaigns', arguments: { delivery_type: 'email' } }],
    },
  },
  {
    toolName: 'get_single_sendoso_campaign_by_id',
    resource: 'campaigns',
    method: 'get',
    http: { method: 'GET', path: '/touches/{id}' },
    tags: ['campaigns'],
    pathParams: z.strictObject({ id: z.number().int().positive().describe('The campaign (touch) id from list_all_sendoso_campaigns.') }),
    response: touchEnvelopeWire,
    docs: {
      title: 'Get one Sendoso campaign',
      description:
        'Returns one campaign by id, with its delivery type, price range and dates. Answers "Touch not found" for an unknown or inactive id.',
    },
  },
  {
    toolName: 'list_all_sendoso_sends',
    resource: 'sends',
    method: 'list',
    http: { method: 'GET', path: '/send' },
    tags: ['sends', 'reporting'],
    query: z.strictObject(page),
    response: envelope('total_count', 'sends', sendWire),
    docs: {
      title: 'List Sendoso sends',
      description:
        'Lists every send in the organization, newest first: recipient, campaign, status (e.g. "Confirming Address", "Shipped", "Redeemed"), status_updates, current_total_cost in USD and sender. Sendoso offers no filters: page through it (total_count is the total) to find sends to a recipient.',
    },
  },
  {
    toolName: 'create_a_sendoso_egift',
    resource: 'egifts',
    method: 'create',
    http: { method: 'POST', path: '/send' },
    tags: ['gifts', 'sends'],
    spend: 'egift',
    body: {
      wrap: 'send',
      schema: z.strictObject({
        touch_id: touchIdArg.describe('An eGift campaign id (delivery_type "email") from list_all_sendoso_campaigns.'),
        email: recipientEmail,
        name: z.string().min(1).optional().describe("The recipient's name."),
        custom_message: customMessage,
      }),
      constants: { via: 'single_email_address' },
      viaFrom: true,
    },
    response: sendCreatedWire,
    docs: {
      title: 'Send an eGift (spends money)',
      description:
        'Sends an eGift by email through Sendoso. This spends money: giftguard checks the spend policy and budget first and may answer that a person must approve. Needs an eGift campaign (delivery_type "email"): call list_all_sendoso_campaigns first for its id. Returns a tracking code.',
    },
  },
  {
    toolName: 'create_a_sendoso_physical_gift',
    resource: 'physical_gifts',
    method: 'create',
    http: { method: 'POST', path: '/send' },
    tags: ['gifts', 'sends'],
    spend: 'physical',
    body: {
      wrap: 'send',
      schema: z.strictObject({
        touch_id: touchIdArg.describe('A physical campaign id (delivery_type "mail") from list_all_sendoso_campaigns.'),
        name: z.string().min(1).describe("The recipient's full name."),
        email: recipientEmail,
        address: z.string().min(1).describe('Street address, e.g. "639 Front St, Floor 3".'),
        city: z.string().min(1),
        state: z.string().min(1),
        zip: z.string().min(1),
        country: z.string().min(1).describe('Country, e.g. "USA". Must be one the campaign ships to.'),
        mobile_no: z.string().min(5).optional().describe('Recipient phone; required by Sendoso for any address outside the US.'),
        custom_message: customMessage,
      }),
      constants: { confirm_address: false, via: 'single_person_or_company' },
      viaFrom: true,
    },
    response: sendCreatedWire,
    docs: {
      title: 'Ship a physical gift to a known address (spends money)',
      description:
        'Ships a physical gift to an address you already have. This spends money: giftguard checks the spend policy and budget first. Needs a physical campaign (delivery_type "mail") from list_all_sendoso_campaigns. If you do not have the address, use create_a_sendoso_physical_gift_address_collection instead.',
    },
  },
  {
    toolName: 'create_a_sendoso_physical_gift_address_collection',
    resource: 'physical_gift_address_collections',
    method: 'create',
    http: { method: 'POST', path: '/send' },
    tags: ['gifts', 'sends'],
    spend: 'address_collection',
    body: {
      wrap: 'send',
      schema: z.strictObject({
        touch_id: touchIdArg.describe('A physical campaign id (delivery_type "mail") from list_all_sendoso_campaigns.'),
        name: z.string().min(1).describe("The recipient's full name."),
        email: recipientEmail.describe('Where Sendoso sends the address form.'),
        custom_message: customMessage,
        address_confirmation_via: z
          .enum(['email', 'link'])
          .default('email')
          .describe('"email": Sendoso emails the recipient a form (default). "link": you get a link to share yourself.'),
        expire_after_days: z
          .number()
          .int()
          .min(2)
          .max(7)
          .default(7)
          .describe('Days the recipient has to enter an address, 2 to 7 (default 7). Unanswered requests are cancelled, nothing ships.'),
        hide_product_info: z.boolean().default(false).describe('Hide the gift name and picture on the address form.'),
        address_confirmation_custom_message: z.string().max(1000).optional().describe('Text for the address-request email.'),
      }),
      constants: { no_address: true, confirm_address: true, resume_with_unconfirmed_address: false, via: 'single_person_or_company' },
      viaFrom: true,
    },
    response: sendCreatedWire,
    docs: {
      title: 'Send a physical gift, asking the recipient for their address (spends money)',
      description:
        'Starts a physical gift when you only know the recipient\'s name and email: Sendoso asks them for a shipping address, and ships once they confirm. It does not ship anything without that confirmation, and the request is cancelled (and refunded) if they do not answer within expire_after_days. This spends money: giftguard checks the spend policy and budget first. Needs a physical campaign (delivery_type "mail") from list_all_sendoso_campaigns.',
      examples: [
        { note: 'An ABM send', arguments: { touch_id: 8934, name: 'Sarah Connor', email: 'sarah@cyberdyne.example', expire_after_days: 7 } },
      ],
    },
  },
  {
    toolName: 'create_a_sendoso_egift_links',
    resource: 'egift_links',
    method: 'create',
    http: { method: 'POST', path: '/send/generate_egift_links' },
    tags: ['gifts', 'sends'],
    spend: 'egift_links',
    body: {
      wrap: 'send',
      schema: z.strictObject({
        touch_id: touchIdArg.describe('An eGift campaign id (delivery_type "email") from list_all_sendoso_campaigns.'),
        recipient_users: z
          .array(z.strictObject({ email: z.email().describe('A recipient email.') }))
          .min(1)
          .max(100)
          .describe('One entry per recipient; each gets a unique link tied to that email. Every link costs one eGift.'),
      }),
      constants: { via: 'generate_egift_links' },
      viaFrom: true,
    },
    response: egiftLinksCreatedWire,
    docs: {
      title: 'Generate eGift links (spends money)',
      description:
        'Creates one redeemable eGift link per recipient email, for you to share. Each link costs one eGift and is usable at once. This spends money: giftguard checks the spend policy and budget for every link first. Needs an eGift campaign (delivery_type "email") from list_all_sendoso_campaigns.',
    },
  },
  {
    // Only in Pipedream's code against the retired Apiary docs; Sendoso's current reference has no
    // tracking-code lookup. Without a documentation record it is not exposed.
    toolName: 'get_sendoso_send_status_by_tracking_code',
    resource: 'send_status',
    method: 'get',
    http: { method: 'GET', path: '/gifts/status/{tracking_code}' },
    tags: ['sends'],
    pathParams: z.strictObject({ tracking_code: z.string().min(1) }),
    response: z.object({}).loose(),
  },
];
