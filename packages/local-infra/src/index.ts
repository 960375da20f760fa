// Launcher API of the test/local infrastructure (Kafka + Postgres). See README-level notes in
// infra.ts; test files use "@bridge/local-infra/testing" instead.
export { dockerEngineAvailable } from "./containers.ts";
export {
  createDatabase,
  createTemplateDatabase,
  databaseUrl,
  dropDatabase,
  postgresVersion,
  sealTemplate,
  TEMPLATE_DATABASE,
  uniqueDatabaseName,
} from "./databases.ts";
export {
  applyStoreMigrations,
  type InfraWithDatabase,
  startInfraWithDatabase,
} from "./databases-migrated.ts";
export { freePort, freePorts } from "./free-port.ts";
export {
  describeInfra,
  type Infra,
  type InfraSource,
  InfraStartError,
  type StartInfraOptions,
  startInfra,
} from "./infra.ts";
export { bridgeCacheDir, ensureKafkaJars, KAFKA_VERSION } from "./kafka-jars.ts";
export { type LocalKafka, startLocalKafka } from "./kafka-local.ts";
export { log, redactUrl } from "./log.ts";
export { type LocalPostgres, reachableBy, SHARED_DIR, startLocalPostgres } from "./postgres-local.ts";
export {
  isAlive,
  type Service,
  type ServiceSpec,
  signalGroup,
  startService,
  tailFile,
  waitUntilGone,
} from "./processes.ts";
export {
  type Restartable,
  type RestartableKafka,
  type RestartablePostgres,
  startRestartableKafka,
  startRestartablePostgres,
} from "./restartable.ts";
export { serviceNodeFlags } from "./service-node-flags.ts";
