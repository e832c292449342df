/**
 * Keycloak users (UserRepresentation) as Latchkey user declarations:
 *
 * | Keycloak                              | Latchkey                                                   |
 * |---------------------------------------|------------------------------------------------------------|
 * | username, email, emailVerified        | username, email, email_verified                            |
 * | enabled (absent: disabled, as Keycloak imports it) | disabled                                      |
 * | firstName, lastName                   | given_name, family_name, and name "first last" (Keycloak's full-name mapper) |
 * | credentials (type password)           | password_hash kept, or password hashed (keycloak-credentials.ts) |
 * | realmRoles, groups' roles, composites | roles: the effective realm roles (keycloak-roles.ts)       |
 * | clientRoles, the same way             | roles named `<clientId>:<role>`, which the keycloak layout puts in resource_access.<clientId>.roles (src/oidc/keycloak-shapes.ts) |
 * | groups                                | groups, as Keycloak's paths (/staff/engineering)           |
 * | attributes locale, picture, website, gender, birthdate, zoneinfo, nickname, profile, middleName, phoneNumber, phoneNumberVerified | the OIDC claims of those names (Keycloak's profile and phone scopes) |
 *
 * A service account's user (serviceAccountClientId) is not a person: it is
 * not imported as a user, and its realm roles become its client's roles.
 */
import { keycloakPassword } from './keycloak-credentials.ts';
import { Findings, shown, type KeycloakObject } from './keycloak-fields.ts';
import type { KeycloakRoles } from './keycloak-roles.ts';

/** User attributes that Keycloak's built-in profile and phone scopes release as standard claims. */
const ATTRIBUTE_CLAIMS: Readonly<Record<string, string>> = {
  locale: 'locale', picture: 'picture', website: 'website', gender: 'gender', birthdate: 'birthdate', zoneinfo: 'zoneinfo',
  nickname: 'nickname', profile: 'profile', middleName: 'middle_name', phoneNumber: 'phone_number',
};
const MAX_CLAIM_LENGTH = 1000;

export interface UsersContext {
  roles: KeycloakRoles;
  skipped: Findings;
  attention: Findings;
  notImported: Findings;
}

export interface TranslatedUser {
  declaration: Record<string, unknown>;
  /** Where the user is in the export, for errors found later by the setup rules. */
  at: string;
  username: string;
}

export interface TranslatedUsers {
  users: TranslatedUser[];
  serviceAccountRoles: Map<string, string[]>;
  keptHashes: number;
  plainPasswords: number;
  withoutPassword: number;
  disabled: number;
}

export function translateUsers(realm: KeycloakObject, context: UsersContext): TranslatedUsers {
  const translated: TranslatedUsers = { users: [], serviceAccountRoles: new Map(), keptHashes: 0, plainPasswords: 0, withoutPassword: 0, disabled: 0 };
  for (const user of realm.objects('users')) {
    const username = user.string('username') ?? user.fail('username', 'is required');
    const name = shown(username);
    user.ignore('id', 'createdTimestamp', 'self', 'origin', 'notBefore', 'access', 'disableableCredentialTypes', 'totp', 'userProfileMetadata');
    const groups = user.strings('groups') ?? [];
    const clientRoles = user.stringLists('clientRoles');
    for (const [clientId, names] of user.stringLists('applicationRoles')) clientRoles.set(clientId, names); // Keycloak 1.x
    const effective = context.roles.effective(user.strings('realmRoles') ?? [], clientRoles, groups);

    const serviceClient = user.string('serviceAccountClientId');
    if (serviceClient !== undefined) {
      translated.serviceAccountRoles.set(serviceClient, effective.realm);
      context.skipped.add('service-account users (their realm roles go to their client)', name);
      if (effective.clients.size) context.notImported.add('client roles of service accounts', name);
      user.ignore(...user.keys());
      continue;
    }

    const password = keycloakPassword(user, username, context.notImported, context.attention);
    if (password.kind === 'hash') translated.keptHashes += 1;
    else if (password.kind === 'plain') translated.plainPasswords += 1;
    else {
      translated.withoutPassword += 1;
      context.attention.add('users the export gives no password (a new one cannot sign in until one is set: `latchkey users passwd USER --realm R`)', name);
    }
    const enabled = user.boolean('enabled') === true;
    if (!enabled) translated.disabled += 1;

    const firstName = user.string('firstName');
    const lastName = user.string('lastName');
    const fullName = [firstName, lastName].filter(Boolean).join(' ');
    const declaration: Record<string, unknown> = {
      username,
      ...(password.kind === 'hash' ? { password_hash: password.hash } : password.kind === 'plain' ? { password: password.password } : {}),
      ...(user.string('email') ? { email: user.string('email') } : {}),
      email_verified: user.boolean('emailVerified') ?? false,
      disabled: !enabled,
      ...(firstName ? { given_name: firstName } : {}),
      ...(lastName ? { family_name: lastName } : {}),
      ...(fullName ? { name: fullName } : {}),
      ...attributeClaims(user, name, context.notImported),
      // Client roles in keycloak-connect's notation, which the keycloak layout reads back into resource_access.
      roles: [...effective.realm, ...[...effective.clients].flatMap(([clientId, names]) => names.map((role) => `${clientId}:${role}`))],
      groups,
    };

    reportLeftovers(user, name, context.notImported);
    translated.users.push({ declaration, at: user.at, username });
  }
  return translated;
}

function attributeClaims(user: KeycloakObject, name: string, notImported: Findings): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [attribute, values] of user.stringLists('attributes')) {
    const claim = attribute === 'phoneNumberVerified' ? 'phone_number_verified' : ATTRIBUTE_CLAIMS[attribute];
    if (claim === undefined) {
      notImported.add('user attributes (no scope releases them in Latchkey)', shown(attribute));
    } else if (values.length !== 1 || values[0]!.length === 0 || values[0]!.length > MAX_CLAIM_LENGTH) {
      notImported.add(`user attributes that are not one value of 1 to ${MAX_CLAIM_LENGTH} characters`, `${name}.${shown(attribute)}`);
    } else if (claim === 'phone_number_verified') {
      claims[claim] = values[0] === 'true';
    } else {
      claims[claim] = values[0];
    }
  }
  return claims;
}

function reportLeftovers(user: KeycloakObject, name: string, notImported: Findings): void {
  const federation = user.string('federationLink');
  if (federation) notImported.add('users of a user federation provider (LDAP, Kerberos: their passwords are not in the export)', name);
  for (const action of user.strings('requiredActions') ?? []) notImported.add('users\' required actions (Latchkey asks for none)', shown(action));
  for (const link of [...user.objects('federatedIdentities'), ...user.objects('socialLinks')]) {
    notImported.add('users\' links to identity providers', shown(link.string('identityProvider') ?? link.string('socialProvider') ?? '?'));
    link.ignore(...link.keys());
  }
  if (user.objects('clientConsents').length) notImported.add('consents users gave to clients', name);
  for (const field of user.unread()) notImported.add('user settings', shown(field));
}
