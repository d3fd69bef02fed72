{{- define "earshot.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "earshot.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "earshot.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /* Whether the release runs on an external PostgreSQL (EARSHOT_DATABASE_URL). */ -}}
{{- define "earshot.postgres" -}}
{{- if or .Values.database.existingSecret .Values.database.url -}}true{{- end -}}
{{- end -}}

{{- /* Refuses replica setups that would lose data or sign-ins (docs/deploy.md "Several replicas"). */ -}}
{{- define "earshot.validate" -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- if not (include "earshot.postgres" .) -}}
{{- fail "replicaCount > 1 needs an external PostgreSQL: set database.existingSecret (or database.url). SQLite serves one pod only." -}}
{{- end -}}
{{- if not .Values.secretKey.existingSecret -}}
{{- fail "replicaCount > 1 needs secretKey.existingSecret: every replica must sign and verify tokens with the same server key." -}}
{{- end -}}
{{- if and (not .Values.persistence.existingClaim) (ne .Values.persistence.accessMode "ReadWriteMany") -}}
{{- fail "replicaCount > 1 needs a shared data volume: persistence.accessMode ReadWriteMany (or an existingClaim that is ReadWriteMany)." -}}
{{- end -}}
{{- end -}}
{{- end -}}
