set -euo pipefail # OMIT
kubectl delete crd gadgets.slides.example.com --ignore-not-found --wait >/dev/null # OMIT
kubectl create -f slides/scripts/gadgets-crd.yaml
kubectl wait --for=condition=Established crd/gadgets.slides.example.com
# Established is not "in discovery": the discovery document is updated
# asynchronously, so a client that needs the new resource asks until it is there.
tries=1
until kubectl get --raw /apis/slides.example.com/v1 >/dev/null 2>&1; do
  tries=$((tries + 1)); sleep 0.1
done
echo "served in discovery at try $tries"
kubectl delete crd gadgets.slides.example.com --wait >/dev/null # OMIT
