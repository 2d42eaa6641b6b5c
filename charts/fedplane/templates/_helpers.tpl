{{/* The name of the chart's objects: the release name, unless it already says fedplane. */}}
{{- define "fedplane.fullname" -}}
{{- if contains "fedplane" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-fedplane" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object of the chart. */}}
{{- define "fedplane.labels" -}}
app.kubernetes.io/name: fedplane
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels that select fed-controller's pods. */}}
{{- define "fedplane.selectorLabels" -}}
app.kubernetes.io/name: fedplane
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* fed-controller's ServiceAccount. */}}
{{- define "fedplane.serviceAccountName" -}}
{{- printf "%s-controller" (include "fedplane.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
