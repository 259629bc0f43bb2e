import sys

from jaxrnn.cli import main

sys.exit(main())
