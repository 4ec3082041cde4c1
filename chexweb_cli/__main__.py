from chexweb_cli.commands import main

raise SystemExit(main())
