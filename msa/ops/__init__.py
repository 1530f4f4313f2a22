"""Operations: the health, readiness and metrics endpoints that load balancers and Prometheus
call. An outer-ring package (like the views): it reads every part, changes nothing, and is
served on the lean ASGI path of ``msa.asgi``, without Django's request machinery."""
