from .ale_python_interface import *
