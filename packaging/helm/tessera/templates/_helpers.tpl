{{/* Names and labels. */}}
{{- define "tessera.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tessera.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tessera.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tessera.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tessera.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tessera.labels" -}}
helm.sh/chart: {{ include "tessera.chart" . }}
{{ include "tessera.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tessera.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tessera.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tessera.image" -}}
{{- $tag := default .Chart.AppVersion (toString .Values.image.tag) }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* "true" when the database is PostgreSQL (so, shared by replicas). */}}
{{- define "tessera.postgres" -}}
{{- if or .Values.database.url .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/* The Secret the chart makes (master key and/or database URL given inline). */}}
{{- define "tessera.secretName" -}}
{{- include "tessera.fullname" . }}
{{- end }}

{{- define "tessera.masterKeySecret" -}}
{{- default (include "tessera.secretName" .) .Values.masterKey.existingSecret }}
{{- end }}

{{- define "tessera.masterKeySecretKey" -}}
{{- if .Values.masterKey.existingSecret }}{{ .Values.masterKey.existingSecretKey }}{{ else }}master-key{{ end }}
{{- end }}

{{- define "tessera.databaseSecret" -}}
{{- default (include "tessera.secretName" .) .Values.database.existingSecret }}
{{- end }}

{{- define "tessera.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{- define "tessera.publicURL" -}}
{{- if .Values.publicURL }}
{{- .Values.publicURL | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- printf "https://%s" (first .Values.ingress.hosts).host }}
{{- end }}
{{- end }}

{{- define "tessera.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/*
tessera.validate refuses, at render time, values that would deploy but
not work, or lose data. Every template includes it, so that `helm template`
of any one file fails as well.
*/}}
{{- define "tessera.validate" -}}
{{- $pg := include "tessera.postgres" . }}
{{- if and (gt (int .Values.replicaCount) 1) (not $pg) }}
{{- fail (printf "replicaCount is %d, but more than one replica needs PostgreSQL: set database.url (postgres://…) or database.existingSecret. SQLite in the data folder runs one server per folder, and tessera refuses a second one." (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.database.url .Values.database.existingSecret }}
{{- fail "set database.url or database.existingSecret, not both" }}
{{- end }}
{{- if and .Values.database.url (not (regexMatch "^postgres(ql)?://" .Values.database.url)) }}
{{- fail "database.url must be a postgres:// URL (leave it empty for SQLite in the data folder, one replica)" }}
{{- end }}
{{- if and .Values.masterKey.value .Values.masterKey.existingSecret }}
{{- fail "set masterKey.value or masterKey.existingSecret, not both" }}
{{- end }}
{{- if not .Values.masterKey.existingSecret }}
{{- $key := required "tessera needs a master key, the same on every replica and kept apart from the database: make one with `head -c 32 /dev/urandom | base64` and store it in a Secret (kubectl create secret generic tessera-master-key --from-literal=master-key=…), then set masterKey.existingSecret=tessera-master-key (or pass it as masterKey.value)" .Values.masterKey.value | trim }}
{{- $hex := and (eq (len $key) 64) (regexMatch "^[0-9a-fA-F]+$" $key) }}
{{- $b64 := regexMatch "^[A-Za-z0-9+/_-]{43}=?$" $key }}
{{- if not (or $hex $b64) }}
{{- fail "masterKey.value is not a master key: it is 32 random bytes as base64 or 64 hex digits; make one with `head -c 32 /dev/urandom | base64`" }}
{{- end }}
{{- end }}
{{- if not (include "tessera.publicURL" .) }}
{{- fail "set publicURL (e.g. https://id.example.com): it is the issuer of every tenant, so it must be the URL clients use; with ingress.enabled it defaults to https://{the first host}" }}
{{- end }}
{{- if not (regexMatch "^https?://[^/]+" (include "tessera.publicURL" .)) }}
{{- fail "publicURL must be an absolute http(s) URL, e.g. https://id.example.com" }}
{{- end }}
{{- range $k, $v := .Values.config }}
{{- if has $k (list "addr" "data" "db" "http" "public-url" "tls-cert" "tls-key" "admin-addr" "migrate" "config") }}
{{- fail (printf "config.%s is set by the chart; use its own value instead (see values.yaml)" $k) }}
{{- end }}
{{- end }}
{{- if and .Values.migrations.job.enabled (not .Values.database.existingSecret) }}
{{- fail "migrations.job needs PostgreSQL given as database.existingSecret: the Job runs before install and upgrade, before the chart's own Secret exists (and SQLite's folder belongs to the one server)" }}
{{- end }}
{{- if and .Values.persistence.existingClaim $pg }}
{{- fail "persistence.existingClaim is for SQLite; with PostgreSQL the data folder is an emptyDir" }}
{{- end }}
{{- end }}
