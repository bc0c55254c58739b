"""The model, training, sampling and GAN tests again under the PyTorch backend (conftest.BACKEND_MATRIX_FILES).

A file of its own so that pytest-xdist (--dist loadfile) runs it beside the TensorFlow run."""


def test_the_model_training_and_sampling_tests_pass_under_torch(run_under_backend):
    run_under_backend("torch")
