import { Type } from '@sinclair/typebox';
import { accountView } from '../accounts/account-view.ts';
import { UserSchema } from '../config/index.ts';
import { AccountNotFoundError } from '../errors/index.ts';
import { adminRoute, requireRealm, type AdminServices } from './admin-route.ts';
import { DateTime, Page, RealmName, RealmParams } from './admin-schemas.ts';
import { PageQuery, readPage } from './pagination.ts';

/**
 * Users of a realm, through the account service the CLI uses: the same
 * rules (username, roles, groups, password length), and the same
 * revocations (a new password, disabling or removing a user revokes every
 * session, grant and token issued to them). A password goes in, never out:
 * an answer shows how it is stored (`password_storage`), never a hash.
 */
const { password: _password, password_hash: _hash, ...declarable } = UserSchema.properties;

/** The setup file's user fields (src/config/declarative-schema.ts), password required. */
const NewUserSchema = Type.Object({
  ...declarable,
  password: Type.String({ minLength: 1, maxLength: 1024, description: 'hashed with argon2id; never shown again' }),
}, { additionalProperties: false });

const UserViewSchema = Type.Object({
  id: Type.String({ description: 'the OIDC subject (sub)' }),
  username: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  email_verified: Type.Boolean(),
  disabled: Type.Boolean(),
  roles: Type.Array(Type.String()),
  groups: Type.Array(Type.String()),
  claims: Type.Record(Type.String(), Type.Unknown()),
  password_storage: Type.String({ description: 'argon2id, none, or the scheme of a hash kept from Keycloak until the first sign-in' }),
  created_at: DateTime,
  updated_at: DateTime,
  password_changed_at: DateTime,
});

const UserParams = Type.Object({ realm: RealmName, username: Type.String({ minLength: 1, maxLength: 256 }) });

const UserChangeSchema = Type.Object({
  disabled: Type.Optional(Type.Boolean({ description: 'true disables the user and revokes everything issued to them; false enables' })),
  roles: Type.Optional(Type.Array(Type.String(), { description: 'replaces the roles; tokens issued from now on carry them' })),
  groups: Type.Optional(Type.Array(Type.String(), { description: 'replaces the groups' })),
}, { additionalProperties: false, minProperties: 1 });

const PasswordSchema = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });

const TAG = 'users';

/** @throws AccountNotFoundError */
async function found(services: AdminServices, realm: string, username: string) {
  const user = await services.accounts.findByUsername(realm, username);
  if (!user) throw new AccountNotFoundError(`no user ${username} in realm ${realm}`);
  return user;
}

export const userRoutes = [
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/users',
    scope: 'admin:read',
    operationId: 'listUsers',
    summary: "List a realm's users, in username order",
    tag: TAG,
    schema: { params: RealmParams, querystring: PageQuery, response: { 200: Page(UserViewSchema) } },
    async handle({ params, query }, services) {
      const realm = requireRealm(services, params.realm);
      const page = await readPage(query, (range) => services.accounts.page(realm, range), (user) => user.username);
      return { status: 200, body: { items: page.items.map(accountView), next_cursor: page.next_cursor } };
    },
  }),
  adminRoute({
    method: 'POST',
    url: '/v1/realms/:realm/users',
    scope: 'admin:write',
    operationId: 'createUser',
    summary: 'Add a user',
    tag: TAG,
    schema: { params: RealmParams, body: NewUserSchema, response: { 201: UserViewSchema } },
    async handle({ params, body }, services) {
      const realm = requireRealm(services, params.realm);
      const { username, password, email, email_verified: emailVerified, disabled, roles, groups, claims, ...profile } = body;
      // Profile fields are claims, as in the setup file (src/realms/realm-setup.ts).
      const user = await services.accounts.create(realm, {
        username, password, email: email ?? null, email_verified: emailVerified ?? false, disabled: disabled ?? false,
        claims: { ...profile, ...claims },
        roles: roles as string[] | undefined,
        groups: groups as string[] | undefined,
      });
      const after = accountView(user);
      return { status: 201, headers: { location: `/v1/realms/${realm}/users/${encodeURIComponent(user.username)}` }, body: after, audit: { target: user.username, after } };
    },
  }),
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/users/:username',
    scope: 'admin:read',
    operationId: 'getUser',
    summary: 'Read a user',
    tag: TAG,
    schema: { params: UserParams, response: { 200: UserViewSchema } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      return { status: 200, body: accountView(await found(services, realm, params.username)) };
    },
  }),
  adminRoute({
    method: 'PATCH',
    url: '/v1/realms/:realm/users/:username',
    scope: 'admin:write',
    operationId: 'updateUser',
    summary: 'Disable or enable a user, or replace their roles or groups',
    tag: TAG,
    schema: { params: UserParams, body: UserChangeSchema, response: { 200: UserViewSchema } },
    async handle({ params, body }, services) {
      const realm = requireRealm(services, params.realm);
      const { username } = params;
      const before = accountView(await found(services, realm, username));
      if (body.roles !== undefined || body.groups !== undefined) {
        await services.accounts.setAuthorisation(realm, username, { roles: body.roles, groups: body.groups });
      }
      if (body.disabled !== undefined) await services.accounts.setDisabled(realm, username, body.disabled);
      const after = accountView(await found(services, realm, username));
      return { status: 200, body: after, audit: { target: username, before, after } };
    },
  }),
  adminRoute({
    method: 'PUT',
    url: '/v1/realms/:realm/users/:username/password',
    scope: 'admin:write',
    operationId: 'setUserPassword',
    summary: "Set a user's password and revoke everything issued to them",
    tag: TAG,
    schema: { params: UserParams, body: PasswordSchema, response: { 204: Type.Null() } },
    async handle({ params, body }, services) {
      const realm = requireRealm(services, params.realm);
      await services.accounts.setPassword(realm, params.username, body.password);
      // The event says that the password changed, never what to.
      return { status: 204, audit: { target: params.username } };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/users/:username',
    scope: 'admin:write',
    operationId: 'deleteUser',
    summary: 'Remove a user and revoke everything issued to them',
    tag: TAG,
    schema: { params: UserParams, response: { 204: Type.Null() } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      const before = await services.accounts.findByUsername(realm, params.username);
      await services.accounts.remove(realm, params.username);
      return { status: 204, audit: { target: params.username, before: before && accountView(before) } };
    },
  }),
];
