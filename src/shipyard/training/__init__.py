"""Training compute: tracked training jobs with resources, hyperparameter search, Ray."""
