#!/bin/sh
# Temporal's schema on PostgreSQL, as in Temporal's reference compose (samples-server/compose).
# Re-runnable: `create` fails harmlessly when the database exists; setup-schema and
# update-schema only apply what is missing.
set -eu

SQL="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_SEEDS} -u ${POSTGRES_USER} -p ${DB_PORT:-5432}"
export SQL_PASSWORD="${POSTGRES_PWD}"

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT:-5432}"
until nc -z "${POSTGRES_SEEDS}" "${DB_PORT:-5432}"; do sleep 1; done

for db in temporal temporal_visibility; do
  $SQL --db "$db" create || echo "database $db exists already"
done
$SQL --db temporal setup-schema -v 0.0
$SQL --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned
$SQL --db temporal_visibility setup-schema -v 0.0
$SQL --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned
echo "Temporal schema ready"
