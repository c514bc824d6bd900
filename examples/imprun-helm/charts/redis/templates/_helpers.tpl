{{/* Mirrors plugins/components/redis: names, labels and the image. */}}
{{- define "redis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* fullnameOverride, else the chart name (no release prefix: `redis-master`). */}}
{{- define "redis.base" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "redis.name" . -}}
{{- end -}}
{{- end -}}

{{- define "redis.fullname" -}}
{{- printf "%s-master" (include "redis.base" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "redis.serviceName" -}}
{{- if (.Values.service).name -}}
{{- .Values.service.name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "redis.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "redis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "redis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: master
{{- end -}}

{{- define "redis.labels" -}}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "redis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "redis.image" -}}
{{- $registry := ((.Values.global).imageRegistry) | default .Values.image.registry -}}
{{- $ref := .Values.image.repository | default "redis" -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" (trimSuffix "/" $registry) $ref -}}{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $ref .Values.image.digest -}}
{{- else -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if $tag -}}{{- printf "%s:%s" $ref $tag -}}{{- else -}}{{- $ref -}}{{- end -}}
{{- end -}}
{{- end -}}

{{- define "redis.imagePullSecrets" -}}
{{- $all := concat (((.Values.global).imagePullSecrets) | default list) (.Values.imagePullSecrets | default list) -}}
{{- if $all }}
imagePullSecrets:
{{- range $all }}
{{- if kindIs "map" . }}
  - name: {{ .name }}
{{- else }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The password Secret: auth.existingSecret, else the umbrella's. */}}
{{- define "redis.secretName" -}}
{{- .Values.auth.existingSecret | default "imprun-redis-secret" -}}
{{- end -}}

{{- define "redis.probe" -}}
{{- $p := index . 0 -}}{{- $port := index . 1 -}}{{- $delay := index . 2 -}}
exec:
  command: [sh, -c, {{ printf "redis-cli -h 127.0.0.1 -p %v ping | grep -q PONG" $port | quote }}]
initialDelaySeconds: {{ $p.initialDelaySeconds | default $delay }}
periodSeconds: {{ $p.periodSeconds | default 5 }}
timeoutSeconds: {{ $p.timeoutSeconds | default 3 }}
successThreshold: {{ $p.successThreshold | default 1 }}
failureThreshold: {{ $p.failureThreshold | default 5 }}
{{- end -}}

{{/* The pod template shared by the Deployment and the StatefulSet. */}}
{{- define "redis.podTemplate" -}}
{{- $port := .Values.service.port | default 6379 -}}
metadata:
  labels:
    {{- include "redis.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  automountServiceAccountToken: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- include "redis.imagePullSecrets" . | nindent 2 }}
  containers:
    - name: redis
      image: {{ include "redis.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy | default "IfNotPresent" }}
      command: [redis-server]
      args:
        - --port
        - {{ $port | quote }}
        - --dir
        - /data
        - --appendonly
        - {{ ternary "yes" "no" (ne .Values.appendOnly false) | quote }}
        {{- if .Values.auth.enabled }}
        - --requirepass
        - $(REDIS_PASSWORD)
        {{- end }}
        {{- range .Values.extraFlags }}
        - {{ . | quote }}
        {{- end }}
      ports:
        - name: redis
          containerPort: {{ $port }}
          protocol: TCP
      {{- if .Values.auth.enabled }}
      env:
        - name: REDIS_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ include "redis.secretName" . }}
              key: {{ .Values.auth.existingSecretPasswordKey | default "REDIS_PASSWORD" }}
        # redis-cli reads REDISCLI_AUTH, so probes need no password argument.
        - name: REDISCLI_AUTH
          valueFrom:
            secretKeyRef:
              name: {{ include "redis.secretName" . }}
              key: {{ .Values.auth.existingSecretPasswordKey | default "REDIS_PASSWORD" }}
      {{- end }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.containerSecurityContext | nindent 8 }}
      {{- if .Values.livenessProbe.enabled }}
      livenessProbe:
        {{- include "redis.probe" (list .Values.livenessProbe $port 20) | nindent 8 }}
      {{- end }}
      {{- if .Values.readinessProbe.enabled }}
      readinessProbe:
        {{- include "redis.probe" (list .Values.readinessProbe $port 5) | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if hasKey .Values "affinity" }}
  affinity:
    {{- toYaml .Values.affinity | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
{{- end -}}
