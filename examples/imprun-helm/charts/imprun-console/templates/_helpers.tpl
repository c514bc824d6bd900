{{/*
Helpers of the imprun-console twin. They reproduce, in Go templates, what the
JavaScript component plugins/js/imprun-console renders (names, labels, image).
*/}}

{{/* Name of the chart, or nameOverride. */}}
{{- define "imprun-console.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: fullnameOverride, else <release>-<name> (just the release name when it contains the name). */}}
{{- define "imprun-console.fullname" -}}
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

{{- define "imprun-console.selectorLabels" -}}
app.kubernetes.io/name: {{ include "imprun-console.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* A map of strings (labels, annotations) as YAML: values as text, nulls dropped. */}}
{{- define "imprun-console.stringMap" -}}
{{- $out := dict -}}
{{- range $key, $value := . -}}
{{- if not (kindIs "invalid" $value) -}}{{- $_ := set $out $key ($value | toString) -}}{{- end -}}
{{- end -}}
{{- if $out -}}{{- toYaml $out -}}{{- end -}}
{{- end -}}

{{/* Standard labels: commonLabels, selector labels, version, chart, component. */}}
{{- define "imprun-console.labels" -}}
{{- $labels := include "imprun-console.stringMap" (.Values.commonLabels | default dict) | fromYaml -}}
{{- $labels = merge (include "imprun-console.selectorLabels" . | fromYaml) $labels -}}
{{- $_ := set $labels "helm.sh/chart" (printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-") -}}
{{- with .Chart.AppVersion -}}{{- $_ := set $labels "app.kubernetes.io/version" . -}}{{- end -}}
{{- $_ := set $labels "app.kubernetes.io/component" "console" -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" .Release.Service -}}
{{- toYaml $labels -}}
{{- end -}}

{{/* registry/repository:tag (or @digest); global.imageRegistry wins over image.registry. */}}
{{- define "imprun-console.image" -}}
{{- $registry := ((.Values.global).imageRegistry) | default .Values.image.registry -}}
{{- $ref := .Values.image.repository | default "junsik/imprun-console" -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" (trimSuffix "/" $registry) $ref -}}{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $ref .Values.image.digest -}}
{{- else -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if $tag -}}{{- printf "%s:%s" $ref $tag -}}{{- else -}}{{- $ref -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* global.imagePullSecrets then imagePullSecrets, each a name or {name: ...}, without duplicates. */}}
{{- define "imprun-console.imagePullSecrets" -}}
{{- $names := list -}}
{{- range concat (((.Values.global).imagePullSecrets) | default list) (.Values.imagePullSecrets | default list) -}}
{{- $name := . -}}
{{- if kindIs "map" . -}}{{- $name = .name -}}{{- end -}}
{{- if $name -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- with uniq $names -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* An HTTP probe on the named port from <probe>.path and its timings; nothing when disabled. */}}
{{- define "imprun-console.probe" -}}
{{- $p := index . 1 -}}
{{- if ne $p.enabled false -}}
{{ index . 0 }}:
  httpGet:
    path: {{ $p.path | default "/" }}
    port: http
  initialDelaySeconds: {{ $p.initialDelaySeconds }}
  periodSeconds: {{ $p.periodSeconds }}
  timeoutSeconds: {{ $p.timeoutSeconds }}
  failureThreshold: {{ $p.failureThreshold }}
{{- end -}}
{{- end -}}
