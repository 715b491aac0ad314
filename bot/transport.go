// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import "github.com/ksecbot/ksecbot/transport"

// ChannelReloader is kept only until Reload is reworked (issue 14): use
// transport.ChannelReloader. The other aliases are gone.
type ChannelReloader = transport.ChannelReloader
