{{/*
The long-running services: values key -> subcommand of the binary, and the
port name and number of their HTTP listener when they serve traffic.
*/}}
{{- define "crashstream.components" -}}
collector: {command: collector, httpPort: 8000}
processor: {command: processor}
sinkClickhouse: {command: sink-clickhouse}
sinkObjectstore: {command: sink-objectstore}
sinkTelemetry: {command: sink-telemetry}
webapp: {command: webapp, httpPort: 8080}
cron: {command: cron}
{{- end -}}

{{- define "crashstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "crashstream.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one service's objects: <fullname>-<command>. */}}
{{- define "crashstream.componentName" -}}
{{- printf "%s-%s" (include "crashstream.fullname" .root) .command | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "crashstream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "crashstream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: crashstream
{{- end -}}

{{- define "crashstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crashstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one service: root labels plus the component. Args: root, command. */}}
{{- define "crashstream.componentLabels" -}}
{{ include "crashstream.labels" .root }}
app.kubernetes.io/component: {{ .command }}
{{- end -}}

{{- define "crashstream.componentSelectorLabels" -}}
{{ include "crashstream.selectorLabels" .root }}
app.kubernetes.io/component: {{ .command }}
{{- end -}}

{{- define "crashstream.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "crashstream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "crashstream.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "crashstream.secretName" -}}
{{- default (include "crashstream.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/* Topic name with the configured prefix. Args: root, topic. */}}
{{- define "crashstream.topic" -}}
{{- printf "%s%s" .root.Values.kafka.topicPrefix .topic -}}
{{- end -}}

{{/*
Environment every container has besides the ConfigMap: credentials, each a
secretKeyRef so that an existing Secret with its own key names works, and the
paths of the mounted Kafka TLS files.
*/}}
{{- define "crashstream.commonEnv" -}}
{{- $secret := include "crashstream.secretName" . -}}
{{- $keys := .Values.secret.keys -}}
- name: CRASHSTREAM_S3_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ $keys.s3AccessKey }}}}
- name: CRASHSTREAM_S3_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ $keys.s3SecretKey }}}}
- name: CRASHSTREAM_CLICKHOUSE_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ $keys.clickhousePassword }}}}
{{- if .Values.kafka.sasl.mechanism }}
- name: CRASHSTREAM_KAFKA_SASL_USER
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ $keys.kafkaSaslUsername }}}}
- name: CRASHSTREAM_KAFKA_SASL_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ $keys.kafkaSaslPassword }}}}
{{- end }}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.secretName }}
- name: CRASHSTREAM_KAFKA_TLS_CA
  value: /etc/crashstream/kafka-tls/ca.crt
{{- if .Values.kafka.tls.clientAuth }}
- name: CRASHSTREAM_KAFKA_TLS_CERT
  value: /etc/crashstream/kafka-tls/tls.crt
- name: CRASHSTREAM_KAFKA_TLS_KEY
  value: /etc/crashstream/kafka-tls/tls.key
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes every pod has: the read-only root fs needs writable /tmp and cache. Args: root, svc. */}}
{{- define "crashstream.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: cache
  mountPath: /var/cache/crashstream
{{- if and .root.Values.kafka.tls.enabled .root.Values.kafka.tls.secretName }}
- name: kafka-tls
  mountPath: /etc/crashstream/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "crashstream.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ (.svc.tmpVolume | default dict).sizeLimit | default .root.Values.tmpVolume.sizeLimit }}
- name: cache
  emptyDir:
    sizeLimit: {{ (.svc.cacheVolume | default dict).sizeLimit | default "64Mi" }}
{{- if and .root.Values.kafka.tls.enabled .root.Values.kafka.tls.secretName }}
- name: kafka-tls
  secret:
    secretName: {{ .root.Values.kafka.tls.secretName }}
{{- end }}
{{- end -}}
