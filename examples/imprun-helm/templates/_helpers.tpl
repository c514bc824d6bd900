{{/*
Ids of the secrets that enabled subcharts list in usesSecrets, as a dict
id -> true. Only those are rendered, as wasmchart does.
*/}}
{{- define "imprun.usedSecrets" -}}
{{- $used := dict -}}
{{- range .Chart.Dependencies -}}
{{- $sub := index $.Values .Name | default dict -}}
{{- if $sub.enabled -}}
{{- range ($sub.usesSecrets | default list) -}}
{{- $_ := set $used . true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $used -}}
{{- end -}}

{{/*
One key's value: `value` if given, else generated (new on every render:
classic Helm has no stable source, hence helm.sh/resource-policy: keep),
else an error naming the value to set.
*/}}
{{- define "imprun.secretValue" -}}
{{- $id := index . 0 -}}{{- $key := index . 1 -}}{{- $spec := index . 2 -}}
{{- if $spec.value -}}
{{- $spec.value -}}
{{- else if $spec.generate -}}
{{- if eq ($spec.generate.encoding | default "alphanumeric") "base64" -}}
{{- randBytes (int $spec.generate.length) -}}
{{- else -}}
{{- randAlphaNum (int $spec.generate.length) -}}
{{- end -}}
{{- else -}}
{{- required (printf "secret %s key %s is required: --set secrets.items.%s.keys.%s.value=..." $id $key $id $key) $spec.value -}}
{{- end -}}
{{- end -}}
