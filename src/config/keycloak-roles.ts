/**
 * Keycloak's roles and groups, flattened into what Latchkey keeps on an
 * account: names. Latchkey has no role or group definitions, so a user's
 * effective roles are worked out here, as Keycloak works them out for its
 * tokens (`realm_access.roles`, `resource_access.<client>.roles`): the
 * user's own role mappings, those of each of the user's groups and of the
 * groups above it, and everything their composite roles contain.
 *
 * Groups are kept as Keycloak's paths (`/staff/engineering`), what its group
 * membership mapper puts in tokens by default. Keycloak's built-in roles
 * (`default-roles-<realm>`, `offline_access`, `uma_authorization`) and the
 * roles of its built-in clients are Keycloak's own machinery: they are
 * left out, and the summary says so.
 */
import { Findings, shown, type KeycloakObject } from './keycloak-fields.ts';

export const BUILT_IN_ROLES = ['offline_access', 'uma_authorization'] as const;

interface Group {
  parent: string | undefined;
  grants: string[];
}

export interface EffectiveRoles {
  realm: string[];
  /** Client roles by clientId, the built-in clients' left out. */
  clients: Map<string, string[]>;
}

export class KeycloakRoles {
  /** Role key (`realm:<name>` or `client:<clientId>:<name>`) → the keys its composites hold. */
  readonly #composites = new Map<string, string[]>();
  readonly #groups = new Map<string, Group>();
  readonly #builtInRealmRoles: Set<string>;
  readonly #isBuiltInClient: (clientId: string) => boolean;
  readonly realmRoleCount: number;
  readonly clientRoleCount: number;
  readonly groupCount: number;

  constructor(realm: KeycloakObject, keycloakName: string, isBuiltInClient: (clientId: string) => boolean, notImported: Findings, skipped: Findings) {
    this.#isBuiltInClient = isBuiltInClient;
    this.#builtInRealmRoles = new Set([...BUILT_IN_ROLES, `default-roles-${keycloakName.toLowerCase()}`]);
    realm.ignore('defaultRole', 'defaultRoles'); // every user's own mappings name it; its composites are read below
    const roles = realm.object('roles');
    let realmRoles = 0;
    for (const role of roles?.objects('realm') ?? []) {
      const name = this.#readRole(role, 'realm', notImported);
      if (this.#builtInRealmRoles.has(name)) skipped.add('Keycloak built-in roles', name);
      else realmRoles += 1;
    }
    let clientRoles = 0;
    const byClient = roles?.object('client');
    for (const clientId of byClient?.keys() ?? []) {
      for (const role of byClient!.objects(clientId)) {
        this.#readRole(role, `client:${clientId}`, notImported);
        if (!isBuiltInClient(clientId)) clientRoles += 1;
      }
    }
    roles?.ignore('application'); // Keycloak 1.x's name for `client`
    for (const field of roles?.unread() ?? []) notImported.add('roles', field);
    this.realmRoleCount = realmRoles;
    this.clientRoleCount = clientRoles;
    for (const group of realm.objects('groups')) this.#readGroup(group, undefined, notImported);
    this.groupCount = this.#groups.size;
  }

  /** The roles a user holds, expanded as Keycloak expands them for its tokens. */
  effective(realmRoles: readonly string[], clientRoles: ReadonlyMap<string, readonly string[]>, groups: readonly string[]): EffectiveRoles {
    const start = [
      ...realmRoles.map((name) => `realm:${name}`),
      ...[...clientRoles].flatMap(([clientId, names]) => names.map((name) => `client:${clientId}:${name}`)),
    ];
    for (const path of groups) {
      // A group's members hold the roles of every group above it too.
      for (let group = this.#groups.get(path); group; group = group.parent === undefined ? undefined : this.#groups.get(group.parent)) {
        start.push(...group.grants);
      }
    }
    const held = new Set<string>();
    const visit = (key: string) => {
      if (held.has(key)) return;
      held.add(key);
      for (const inner of this.#composites.get(key) ?? []) visit(inner);
    };
    start.forEach(visit);
    const effective: EffectiveRoles = { realm: [], clients: new Map() };
    for (const key of held) {
      if (key.startsWith('realm:')) {
        const name = key.slice('realm:'.length);
        if (!this.#builtInRealmRoles.has(name)) effective.realm.push(name);
        continue;
      }
      const [, clientId, ...rest] = key.split(':');
      if (this.#isBuiltInClient(clientId!)) continue;
      const names = effective.clients.get(clientId!) ?? [];
      names.push(rest.join(':'));
      effective.clients.set(clientId!, names);
    }
    return effective;
  }

  #readRole(role: KeycloakObject, container: string, notImported: Findings): string {
    const name = role.string('name');
    if (name === undefined) role.fail('name', 'is required');
    role.ignore('id', 'description', 'composite', 'clientRole', 'containerId');
    const composites = role.object('composites');
    const inner = [
      ...(composites?.strings('realm') ?? []).map((n) => `realm:${n}`),
      ...[...(composites?.stringLists('client') ?? new Map<string, string[]>())].flatMap(([clientId, names]) => names.map((n) => `client:${clientId}:${n}`)),
    ];
    composites?.ignore('application');
    if (inner.length) this.#composites.set(`${container}:${name}`, inner);
    if (role.object('attributes')?.keys().length) notImported.add('role attributes', shown(name));
    for (const field of role.unread()) notImported.add('role settings', `${shown(name)}.${field}`);
    return name;
  }

  #readGroup(group: KeycloakObject, parent: string | undefined, notImported: Findings): void {
    const name = group.string('name');
    if (name === undefined) group.fail('name', 'is required');
    const path = group.string('path') ?? `${parent ?? ''}/${name}`;
    group.ignore('id', 'subGroupCount', 'access', 'parentId');
    const grants = [
      ...(group.strings('realmRoles') ?? []).map((n) => `realm:${n}`),
      ...[...group.stringLists('clientRoles')].flatMap(([clientId, names]) => names.map((n) => `client:${clientId}:${n}`)),
    ];
    this.#groups.set(path, { parent, grants });
    if (group.object('attributes')?.keys().length) notImported.add('group attributes', shown(path));
    for (const child of group.objects('subGroups')) this.#readGroup(child, path, notImported);
    for (const field of group.unread()) notImported.add('group settings', `${shown(path)}.${field}`);
  }
}
