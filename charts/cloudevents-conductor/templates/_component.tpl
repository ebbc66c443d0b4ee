{{/*
One component: ConfigMap (its --config file), Deployment, HPA, PDB and metrics Service.
Call with (dict "root" $ "component" "db-service" "nats" true "values" .Values.dbService "config" $cfg "volumes" $vols "mounts" $mounts "ports" $ports)
*/}}
{{- define "conductor.component" -}}
{{- $name := printf "%s-%s" (include "conductor.fullname" .root) .component -}}
{{- $base := dict "ops-addr" (printf ":%d" (int .root.Values.metrics.port)) "log-format" .root.Values.common.logFormat "log-level" .root.Values.common.logLevel -}}
{{- if .nats }}{{- $_ := set $base "nats-url" (include "conductor.natsURL" .root) -}}{{- end }}
{{- $config := merge (default dict .values.config) .config $base -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  labels:
    {{- include "conductor.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
data:
  config.yaml: |
    {{- toYaml $config | nindent 4 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "conductor.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  {{- if not (and .values.hpa .values.hpa.enabled) }}
  replicas: {{ .values.replicas }}
  {{- end }}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  selector:
    matchLabels:
      {{- include "conductor.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "conductor.selector" . | nindent 8 }}
      annotations:
        checksum/config: {{ toYaml $config | sha256sum }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: {{ ne .component "db-service" }}
      {{- with .root.Values.imagePullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      terminationGracePeriodSeconds: 30
      containers:
        - name: {{ .component }}
          image: {{ include "conductor.image" . }}
          imagePullPolicy: {{ .root.Values.image.pullPolicy }}
          command: ["/{{ .component }}"]
          args: ["--config=/etc/conductor/config.yaml"]
          env:
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: POD_NAMESPACE
              valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
          ports:
            - {name: metrics, containerPort: {{ .root.Values.metrics.port }}}
            {{- with .ports }}{{ toYaml . | nindent 12 }}{{- end }}
          livenessProbe:
            httpGet: {path: /healthz, port: metrics}
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: /readyz, port: metrics}
            periodSeconds: 5
          resources: {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts:
            - {name: config, mountPath: /etc/conductor, readOnly: true}
            {{- with .mounts }}{{ toYaml . | nindent 12 }}{{- end }}
      volumes:
        - name: config
          configMap: {name: {{ $name }}}
        {{- with .volumes }}{{ toYaml . | nindent 8 }}{{- end }}
      {{- with .values.nodeSelector }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .values.tolerations }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .values.affinity }}
      affinity: {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  labels:
    {{- include "conductor.labels" .root | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}-metrics
  labels:
    {{- include "conductor.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  selector:
    {{- include "conductor.selector" . | nindent 4 }}
  ports:
    - {name: metrics, port: {{ .root.Values.metrics.port }}, targetPort: metrics}
{{- if and .values.hpa .values.hpa.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  labels:
    {{- include "conductor.labels" .root | nindent 4 }}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ $name }}}
  minReplicas: {{ .values.hpa.minReplicas }}
  maxReplicas: {{ .values.hpa.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: {{ .values.hpa.targetCPUUtilizationPercentage }}}
{{- end }}
{{- if and .values.pdb .values.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "conductor.labels" .root | nindent 4 }}
spec:
  minAvailable: {{ .values.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "conductor.selector" . | nindent 6 }}
{{- end }}
{{- end -}}
