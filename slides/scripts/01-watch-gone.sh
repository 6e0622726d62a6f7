set -euo pipefail # OMIT
kubectl delete crd gadgets.slides.example.com --ignore-not-found --wait >/dev/null # OMIT
trap 'kubectl delete crd gadgets.slides.example.com --ignore-not-found >/dev/null' EXIT # OMIT
kubectl create -f slides/scripts/gadgets-crd.yaml >/dev/null # OMIT
kubectl wait --for=condition=Established crd/gadgets.slides.example.com >/dev/null # OMIT
# Resume a watch from a resourceVersion the server no longer keeps (older
# than the watch cache of a CRD created a moment ago): one ERROR event, 410.
kubectl get --raw '/apis/slides.example.com/v1/gadgets?watch=true&resourceVersion=1'
