{{/* The port of fed-controller's health probes (/healthz and /readyz). */}}
{{- define "fedplane.probePort" -}}8081{{- end -}}

{{/* The image of fed-controller: repository/image:tag, the tag defaulting to the appVersion. */}}
{{- define "fedplane.image" -}}
{{- $c := .Values.controllermanager.controller -}}
{{- printf "%s/%s:%s" $c.repository $c.image ($c.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
fed-controller's --zap-log-level: KubeFed's logLevel 0 is info, a higher number is that debug
verbosity.
*/}}
{{- define "fedplane.zapLogLevel" -}}
{{- $l := .Values.controllermanager.controller.logLevel | default 0 | int -}}
{{- if eq $l 0 }}info{{ else }}{{ $l }}{{ end -}}
{{- end -}}

{{/*
The bytes of a memory quantity (512Mi, 1Gi, 500M, 1048576), or "" when the quantity has a form
that the template does not parse (fractions, exponents, milli); the caller then falls back to the
downward API.
*/}}
{{- define "fedplane.quantityBytes" -}}
{{- $q := toString . -}}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "" 1 -}}
{{- if regexMatch "^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$" $q -}}
{{- $n := regexFind "^[0-9]+" $q -}}
{{- $unit := trimPrefix $n $q -}}
{{- mul ($n | int64) (get $units $unit | int64) -}}
{{- end -}}
{{- end -}}

{{/*
The GOMEMLIMIT environment variable: 90% of resources.limits.memory, so that the Go runtime
collects garbage harder before the kernel kills the container. Nothing when there is no limit.
*/}}
{{- define "fedplane.goMemLimit" -}}
{{- $limits := (.Values.controllermanager.controller.resources | default dict).limits | default dict -}}
{{- with $limits.memory -}}
{{- $bytes := include "fedplane.quantityBytes" . -}}
- name: GOMEMLIMIT
{{- if $bytes }}
  value: {{ div (mul ($bytes | int64) 9) 10 | quote }}
{{- else }}
  valueFrom:
    resourceFieldRef:
      containerName: controller
      resource: limits.memory
      divisor: "1"
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Refuses values that fedplane cannot honour, with a message naming the value. */}}
{{- define "fedplane.validate" -}}
{{- if eq (toString .Values.global.scope) "Namespaced" -}}
{{- fail "global.scope: Namespaced is not supported: fedplane runs cluster-scoped control planes only; leave it empty or set Cluster" -}}
{{- end -}}
{{- end -}}
