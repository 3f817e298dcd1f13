{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "kev.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: the release name when it contains the chart name. */}}
{{- define "kev.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "kev.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "kev.labels" -}}
helm.sh/chart: {{ include "kev.chart" . }}
{{ include "kev.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: event-store
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select kev's pods. */}}
{{- define "kev.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kev.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount kev runs as. */}}
{{- define "kev.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kev.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The claim holding the store. */}}
{{- define "kev.claimName" -}}
{{- default (printf "%s-data" (include "kev.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* The image, with the appVersion as the default tag. */}}
{{- define "kev.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
