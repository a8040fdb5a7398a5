"""Models shipped with stance (standard Hugging Face folders); see stance.model.default_model_path."""
