#!/usr/bin/env bash
# Installs the data engineer's Python client (confluent-kafka with its Avro
# support, and fastavro) into a virtualenv under .stack/venv-de. Idempotent:
# a second run only checks the imports.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.stack/venv-de"
check='import confluent_kafka, fastavro; from confluent_kafka.schema_registry.avro import AvroDeserializer'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
	exit 0
fi
mkdir -p "$root/.stack"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "confluent-kafka[avro,schemaregistry]" fastavro
"$venv/bin/python" -c "$check"
echo "installed confluent-kafka $("$venv/bin/python" -c 'import confluent_kafka; print(confluent_kafka.__version__)') and fastavro into $venv"
