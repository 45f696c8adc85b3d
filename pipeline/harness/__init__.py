"""The shared harness every step of the road stands on: data, models, the training loop, evaluation,
run folders and their records, stages, reports. Nothing here imports a step."""
