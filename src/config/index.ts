export { readEnv, DEFAULT_CONFIG_FILE, type AdminListenerSettings, type EnvSettings, type Environment, type KeySettings, type MetricsSettings } from './env-settings.ts';
export { loadConfig, readSetupFile, setupFrom, type LatchkeyConfig } from './load-config.ts';
export {
  loadDeclarativeFile,
  parseDeclarativeSetup,
  type ClientDeclaration,
  type DeclarativeSetup,
  type RealmDeclaration,
  type SetupOptions,
  type UserDeclaration,
} from './declarative-setup.ts';
export { httpsUrlProblem, redirectUriProblem, type ApplicationType } from './uri-rules.ts';
export { isScopeToken } from './client-field-rules.ts';
export {
  ADMIN_REALM,
  ADMIN_SCOPES,
  APPLICATION_TYPES,
  AUTH_METHODS,
  CLIENT_PERMISSIONS,
  GRANT_TYPES,
  checkClient,
  clientProblems,
  describeClientProblem,
  withIssuedSecretMethod,
  type AuthMethod,
  type ClientCheck,
  type ClientMetadata,
  type ClientPermission,
  type ClientProblem,
  type ClientRuleContext,
  type GrantType,
} from './client-rules.ts';
export {
  checkResourceServer,
  DEFAULT_ACCESS_TOKEN_ALGORITHM,
  TOKEN_FORMATS,
  type ResourceServerDeclaration,
  type TokenFormat,
} from './resource-server-rules.ts';
export { roleListProblem, MAX_ROLES } from './role-rules.ts';
export { usernameProblem, MAX_USERNAME_LENGTH } from './username-rules.ts';
export { describeKeycloakImport, needsAttention, type KeycloakImportSummary } from './keycloak-summary.ts';
export { parseKeptHash, type KeptHash, type Pbkdf2Hash } from './kept-password-hashes.ts';
export { sameJson } from './same-json.ts';
export { describeSchemaError, fieldPath } from './schema-problems.ts';
export { UserSchema } from './declarative-schema.ts';
export { registrationPolicyOf, REGISTRABLE_GRANT_TYPES, type RegistrationDeclaration, type RegistrationPolicy } from './registration-policy.ts';
