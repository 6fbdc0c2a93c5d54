/**
 * What people type after `/gift`, as Slack delivers it: quoted values (straight or the curly
 * quotes phones insert), emails Slack has turned into mailto links, and the mistakes people make.
 */
import { describe, expect, it } from 'vitest';
import { parseGiftCommand } from '../../src/triggers/index.js';

describe('/gift text', () => {
  it('reads an ABM send with straight quotes', () => {
    expect(parseGiftCommand('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor <sarah@cyberdyne.example>"')).toEqual({
      kind: 'abm',
      group: 'Enterprise Sales',
      campaign: 'Executive Whiskey Set',
      name: 'Sarah Connor',
      email: 'sarah@cyberdyne.example',
    });
  });

  it('reads curly quotes and a Slack mailto link', () => {
    expect(parseGiftCommand('ABM group:“Enterprise Sales” campaign:“Executive Whiskey Set” to:“Sarah Connor <mailto:sarah@cyberdyne.example|sarah@cyberdyne.example>” message:“Welcome aboard”')).toMatchObject({
      kind: 'abm',
      group: 'Enterprise Sales',
      name: 'Sarah Connor',
      email: 'sarah@cyberdyne.example',
      message: 'Welcome aboard',
    });
    expect(parseGiftCommand('abm group:Marketing campaign:"Branded Yeti Mug" to:<mailto:kyle@tech.example|kyle@tech.example>')).toMatchObject({ group: 'Marketing', name: 'kyle', email: 'kyle@tech.example' });
  });

  it('reads an audit with an optional look-back', () => {
    expect(parseGiftCommand('audit group:"New Hires Q3" campaign:"Welcome Swag Box" since:30d')).toEqual({ kind: 'audit', group: 'New Hires Q3', campaign: 'Welcome Swag Box', sinceDays: 30 });
  });

  it('explains what is wrong', () => {
    expect(parseGiftCommand('abm group:"Enterprise Sales" campaign:"Executive Whiskey Set" to:"Sarah Connor"')).toEqual({
      kind: 'invalid',
      message: 'to: needs a name and an email, like to:"Sarah Connor <sarah@cyberdyne.example>" (got "Sarah Connor").',
    });
    expect(parseGiftCommand('audit campaign:"Welcome Swag Box"')).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/^Missing group:"…"\. Example: \/gift audit/) });
    expect(parseGiftCommand('send everything')).toEqual({ kind: 'invalid', message: 'Unknown command "send". Try /gift help.' });
    expect(parseGiftCommand('ask')).toMatchObject({ kind: 'invalid' });
    expect(parseGiftCommand('  ')).toEqual({ kind: 'help' });
    expect(parseGiftCommand('batch campaign:x')).toEqual({ kind: 'batch' });
  });
});
