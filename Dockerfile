# The live demo stack (docs/live-stack.md): `docker compose up` runs it from this image.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY edgesim ./edgesim
COPY scenarios ./scenarios
COPY topologies ./topologies
RUN pip install --no-cache-dir . && apt-get purge -y gcc libc6-dev && apt-get autoremove -y
RUN useradd --create-home edgesim
USER edgesim
EXPOSE 5353/udp 5353/tcp 8053 8080-8160 3128
CMD ["edgesim", "serve", "scenarios/quickstart.yaml", "--listen-host", "0.0.0.0", "--allow-public", "--control", "0.0.0.0:8053", "--http-proxy", "0.0.0.0:3128"]
