"""Operations: health, drain, metrics, logs, workers, deployment files."""
