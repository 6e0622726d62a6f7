#!/bin/bash
# kubeworkshop's stand-in for kindnetd (which is not published as a Go
# module): once the kubelet has joined, write this node's CNI config (ptp +
# host-local over the node's podCIDR) and keep a route to every other
# node's podCIDR via that node's InternalIP. Pods reach each other without
# NAT, as Kubernetes' network model asks; only traffic leaving every pod
# network is masqueraded. Runs as kubeworkshop-cni.service.
set -u
KUBECONFIG=/etc/kubernetes/kubelet.conf
CONF=/etc/cni/net.d/10-kubeworkshop.conflist
kc() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }

write_conf() {
  local cidr=$1 tmp
  tmp=$(mktemp /etc/cni/net.d/.tmp-XXXXXX)
  cat >"$tmp" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "kubeworkshop",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": 1500,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{"dst": "0.0.0.0/0"}],
        "ranges": [[{"subnet": "$cidr"}]]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  chmod 0644 "$tmp"
  mv "$tmp" "$CONF"
  echo "wrote $CONF for podCIDR $cidr"
}

# masquerade CIDR OTHERS...: traffic from this node's pods to anything but
# a pod network leaves with the node's address.
masquerade() {
  local own=$1 c
  shift
  iptables -t nat -N KUBEWORKSHOP-MASQ 2>/dev/null || iptables -t nat -F KUBEWORKSHOP-MASQ
  for c in "$own" "$@"; do iptables -t nat -A KUBEWORKSHOP-MASQ -d "$c" -j RETURN; done
  iptables -t nat -A KUBEWORKSHOP-MASQ -j MASQUERADE
  iptables -t nat -C POSTROUTING -s "$own" -j KUBEWORKSHOP-MASQ 2>/dev/null ||
    iptables -t nat -A POSTROUTING -s "$own" -j KUBEWORKSHOP-MASQ
}

mkdir -p /etc/cni/net.d
me=$(hostname)
masqueraded=
while true; do
  if [ -f "$KUBECONFIG" ]; then
    nodes=$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' 2>/dev/null) || nodes=
    own= others=()
    while read -r name cidr ip; do
      [ -n "$name" ] && [ -n "$cidr" ] || continue
      ip=${ip%% *} # the first (IPv4) address of a dual-stack node
      if [ "$name" = "$me" ]; then
        own=$cidr
        grep -q "\"subnet\": \"$cidr\"" "$CONF" 2>/dev/null || write_conf "$cidr"
      else
        others+=("$cidr")
        [ -n "$ip" ] && { ip route replace "$cidr" via "$ip" 2>/dev/null || true; }
      fi
    done <<<"$nodes"
    if [ -n "$own" ] && [ "$masqueraded" != "$own ${others[*]}" ]; then
      masquerade "$own" "${others[@]}" && masqueraded="$own ${others[*]}" && echo "masquerading $own except to ${others[*]:-no other node}"
    fi
  fi
  sleep 2
done
