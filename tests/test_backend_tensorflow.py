"""The model, training, sampling and GAN tests again under TensorFlow (conftest.BACKEND_MATRIX_FILES).

JAX is the suite's own backend; TensorFlow, which requirements.txt installs beside it on Python
3.10-3.13, runs here: notebook 07's ``GradientTape`` training step among them. A file of its own so
that pytest-xdist (--dist loadfile) runs it beside the PyTorch run."""


def test_the_model_training_and_sampling_tests_pass_under_tensorflow(run_under_backend):
    run_under_backend("tensorflow")
