#!/bin/bash
# Runs inside the build container: the steps of kind's base Dockerfile that
# need the node's own tools, then the preload of the component images into
# containerd (images.tar on stdin of the last step).
set -euo pipefail
case "$1" in
configure)
  find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
  rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
    /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>/etc/systemd/journald.conf
  ln -sf /usr/lib/systemd/systemd /sbin/init
  systemctl enable kubelet.service containerd.service undo-mount-hacks.service kubeworkshop-cni.service
  systemctl mask systemd-binfmt.service
  mkdir -p /etc/kubernetes/manifests
  ctr oci spec |
    jq '.hooks.createContainer[.hooks.createContainer|length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
    jq 'del(.process.rlimits)' >/etc/containerd/cri-base.json
  ;;
preload)
  containerd >/tmp/containerd.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
  ctr version >/dev/null || { cat /tmp/containerd.log; exit 1; }
  ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests - </dev/stdin
  # kind pins the images it preloads so the kubelet's image GC keeps them.
  for ref in $(ctr --namespace=k8s.io images ls -q); do
    ctr --namespace=k8s.io images label "$ref" io.cri-containerd.pinned=pinned >/dev/null
  done
  ctr --namespace=k8s.io images ls -q
  kill "$pid"
  wait "$pid" || true
  rm -rf /tmp/containerd.log /run/containerd
  ;;
esac
