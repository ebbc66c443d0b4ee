{{- define "conductor.name" -}}cloudevents-conductor{{- end -}}

{{- define "conductor.fullname" -}}
{{- if contains "cloudevents-conductor" .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-cloudevents-conductor" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "conductor.labels" -}}
app.kubernetes.io/name: {{ include "conductor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* selector labels for one component: (dict "root" $ "component" "grpc-gateway") */}}
{{- define "conductor.selector" -}}
app.kubernetes.io/name: {{ include "conductor.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "conductor.image" -}}
{{- $img := merge (default dict .values.image) .root.Values.image -}}
{{ $img.repository }}:{{ default .root.Chart.AppVersion $img.tag }}
{{- end -}}

{{- define "conductor.natsURL" -}}
{{- if .Values.nats.bundled -}}nats://{{ include "conductor.fullname" . }}-nats:4222
{{- else -}}{{ required "nats.url is required when nats.bundled=false" .Values.nats.url }}{{- end -}}
{{- end -}}

{{- define "conductor.dbSecret" -}}
{{- default (printf "%s-db" (include "conductor.fullname" .)) .Values.maestro.db.existingSecret -}}
{{- end -}}
