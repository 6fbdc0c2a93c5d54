/**
 * @module Branded identifiers. Sendoso mixes integer and string ids across endpoints; branding
 * them keeps a touch id from being passed where a group id is expected.
 */

declare const brand: unique symbol;

/** A value of type `T` that the compiler tells apart from other `T`s by its brand `B`. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A Sendoso campaign ("touch") id. */
export type TouchId = Brand<number, 'TouchId'>;
/** A Sendoso team group id. */
export type GroupId = Brand<number, 'GroupId'>;
/** A Sendoso user id. The docs declare it a string but every example is a number. */
export type UserId = Brand<number, 'UserId'>;
/** A Sendoso send id (the integer `id` on GET /send). */
export type SendId = Brand<number, 'SendId'>;
/** The 40-hex tracking code Sendoso returns when a send is created. */
export type TrackingCode = Brand<string, 'TrackingCode'>;

export const touchId = (n: number): TouchId => n as TouchId;
export const groupId = (n: number): GroupId => n as GroupId;
export const userId = (n: number): UserId => n as UserId;
export const sendId = (n: number): SendId => n as SendId;
export const trackingCode = (s: string): TrackingCode => s as TrackingCode;
