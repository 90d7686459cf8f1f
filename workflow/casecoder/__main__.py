import sys

from casecoder.cli import main

sys.exit(main())
