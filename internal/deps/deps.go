package deps

import (
	_ "github.com/ergochat/irc-go/ircevent"
	_ "github.com/ergochat/irc-go/ircfmt"
	_ "github.com/ergochat/irc-go/ircmsg"
	_ "github.com/ergochat/irc-go/ircreader"
	_ "github.com/ergochat/irc-go/ircutils"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/spf13/pflag"
	_ "golang.org/x/time/rate"
	_ "maunium.net/go/mautrix"
	_ "maunium.net/go/mautrix/crypto/cryptohelper"
	_ "maunium.net/go/mautrix/format"
	_ "maunium.net/go/mautrix/synapseadmin"
)
