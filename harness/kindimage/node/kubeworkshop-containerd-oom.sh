#!/bin/sh
# Runs before containerd starts (containerd.service.d/20-kubeworkshop.conf).
# Pods ask for negative OOM score adjustments (the pause container -998),
# which need CAP_SYS_RESOURCE. Where the host's bounding set lacks it (nested
# containers; see .ci/runc-nosysres), runc fails with "can't get final
# child's PID from pipe: EOF". containerd's restrict_oom_score_adj then
# clamps the adjustments to its own, exactly as kind's entrypoint does for
# rootless nodes, which cannot lower them either.
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if [ $(( (0x$bnd >> 24) & 1 )) -eq 0 ]; then
  echo "CAP_SYS_RESOURCE is not in the bounding set: enabling restrict_oom_score_adj"
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
fi
