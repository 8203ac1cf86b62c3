"""Adam written from its update equations (Kingma & Ba 2015, Algorithm 1).

How to write a Keras 3 optimizer: create the slots in ``build`` and update one variable
in ``update_step(gradient, variable, learning_rate)`` with ``self.assign*`` (so it works
under ``tf.distribute``); everything else (schedules, weight decay, clipping, saving)
comes from ``keras.optimizers.Optimizer``.

The only difference from ``keras.optimizers.Adam``: Keras folds the bias corrections
into the step size, which moves epsilon inside (``eps * sqrt(1 - beta_2**t)``); here
epsilon is where the paper puts it. The two agree to ~1e-7 unless ``sqrt(v)`` is as
small as epsilon.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gen")
class PaperAdam(keras.optimizers.Optimizer):
    """Adam as in the paper::

        m_t = beta_1 * m_{t-1} + (1 - beta_1) * g_t
        v_t = beta_2 * v_{t-1} + (1 - beta_2) * g_t**2
        m_hat = m_t / (1 - beta_1**t);  v_hat = v_t / (1 - beta_2**t)
        w_t = w_{t-1} - lr * m_hat / (sqrt(v_hat) + epsilon)

    Args:
        learning_rate: ``lr``: a float, a ``LearningRateSchedule`` or a callable, as
            for any Keras optimizer; default 0.001.
        beta_1: decay of the first-moment estimate ``m``, in [0, 1); default 0.9.
        beta_2: decay of the second-moment estimate ``v``, in [0, 1); default 0.999.
        epsilon: added to ``sqrt(v_hat)`` (outside the bias correction, as in the
            paper), >= 0; default 1e-7 (Keras' default).
        name: the optimizer's name; default ``"paper_adam"``.
        **kwargs: the other ``keras.optimizers.Optimizer`` arguments (``weight_decay``,
            ``clipnorm``, ``global_clipnorm``, ``clipvalue``, ``loss_scale_factor``, ...).

    Example:

    >>> import numpy as np
    >>> opt = PaperAdam(learning_rate=0.1)
    >>> w = keras.Variable(np.array([1.0], "float32"))
    >>> opt.apply([np.array([0.5], "float32")], [w])
    >>> round(float(w.numpy()[0]), 4)  # the first Adam step moves lr * sign(g)
    0.9
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str = "paper_adam",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"PaperAdam: {arg} must be in [0, 1); got {value}")
        if not epsilon >= 0:
            raise ValueError(f"PaperAdam: epsilon must be >= 0; got {epsilon}")
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._m, self._v = self.add_optimizer_variables(variables, ["m", "v"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = ops.cast(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        i = self._get_variable_index(variable)
        m, v = self._m[i], self._v[i]
        self.assign(m, beta_1 * m + (1.0 - beta_1) * g)
        self.assign(v, beta_2 * v + (1.0 - beta_2) * ops.square(g))
        m_hat = m / (1.0 - ops.power(beta_1, t))
        v_hat = v / (1.0 - ops.power(beta_2, t))
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config
