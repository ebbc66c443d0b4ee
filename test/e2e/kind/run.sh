#!/usr/bin/env bash
# Kind e2e for users with Docker: a kind hub with the OCM CRDs, an unmodified Maestro on PostgreSQL,
# NATS and the conductor chart; then simulated klusterlets join through the gateway's NodePort and a
# ManifestWork and a Maestro resource bundle must reach them and report status.
#
#   test/e2e/kind/run.sh            # create, install, check; KEEP=1 leaves the cluster running
#
# Needs: docker, kind, kubectl, helm (or `make test-tools` for kubectl and helm), Go.
set -euo pipefail
cd "$(dirname "$0")/../../.."
NAME=${KIND_CLUSTER:-conductor-hub}
IMAGE=${IMAGE:-localhost/cloudevents-conductor:e2e}
WORK=$(mktemp -d)
export PATH="$PWD/bin:$PATH"
cleanup() { kill $(jobs -p) 2>/dev/null || true; [ "${KEEP:-}" = 1 ] || kind delete cluster --name "$NAME"; }
trap cleanup EXIT

kind create cluster --name "$NAME" --config test/e2e/kind/kind.yaml --wait 120s
export KUBECONFIG="$WORK/kubeconfig"; kind get kubeconfig --name "$NAME" > "$KUBECONFIG"

docker build -t "$IMAGE" --build-arg VERSION=e2e .
kind load docker-image "$IMAGE" --name "$NAME"

kubectl apply -f pkg/apis/crds/
kubectl create namespace maestro
kubectl apply -f test/e2e/kind/maestro.yaml
kubectl -n maestro rollout status deploy/maestro-db deploy/maestro --timeout 300s

# Development CA: signs the gateway's certificate and the agents' gRPC CSRs (the gateway's client CA).
go run ./test/devhub/cmd/devhub --init --dir "$WORK" --hosts localhost,127.0.0.1
kubectl create namespace open-cluster-management-hub
kubectl -n open-cluster-management-hub create secret generic gateway-tls \
  --from-file=tls.crt="$WORK/tls.crt" --from-file=tls.key="$WORK/tls.key" --from-file=ca.crt="$WORK/ca.crt"

helm install conductor charts/cloudevents-conductor -n open-cluster-management-hub --wait --timeout 5m \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  --set grpcGateway.service.type=NodePort --set grpcGateway.service.nodePort=30090 --set grpcGateway.tlsSecret=gateway-tls \
  --set maestro.url=http://maestro.maestro:8000 --set maestro.db.host=maestro-db.maestro \
  --set maestro.db.user=maestro --set maestro.db.existingSecret=maestro-db --set nats.replicas=1

# The stand-in for the OCM registration controller (accepts clusters, signs their CSRs).
go run ./test/devhub/cmd/devhub --dir "$WORK" --bootstrap-token-file "$WORK/token" &
until [ -s "$WORK/token" ]; do sleep 1; done
go run ./test/simagent --target localhost:8090 --ca-file "$WORK/ca.crt" --bootstrap-token-file "$WORK/token" \
  --cluster kind-e2e --report-interval 5s > "$WORK/simagent.log" 2>&1 &

kubectl wait managedcluster/kind-e2e --for=condition=ManagedClusterJoined --timeout 180s
kubectl apply -f - <<'YAML'
apiVersion: work.open-cluster-management.io/v1
kind: ManifestWork
metadata: {name: kind-e2e, namespace: kind-e2e}
spec:
  workload:
    manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: kind-e2e, namespace: default}, data: {k: v}}
YAML
kubectl -n kind-e2e wait manifestwork/kind-e2e --for=condition=Applied --timeout 120s

# A Maestro resource bundle, written through Maestro's own database the way Maestro writes it.
kubectl -n maestro port-forward svc/maestro-db 15432:5432 >/dev/null &
sleep 3
DSN="postgres://maestro:maestro-e2e@127.0.0.1:15432/maestro?sslmode=disable"
# The consumer-controller creates the consumer once the cluster joined; the resource needs it.
until ID=$(go run ./test/maestroctl --dsn "$DSN" create --consumer kind-e2e 2>/dev/null); do sleep 2; done
for _ in $(seq 60); do
  go run ./test/maestroctl --dsn "$DSN" get --id "$ID" | grep -q '"Applied"' && { echo "kind e2e: passed"; exit 0; }
  sleep 2
done
echo "kind e2e: the Maestro resource $ID never reported Applied" >&2
exit 1
