import sys

from verify_auction import main

sys.exit(main())
