"""The command router: `/news <command> ...` from any platform, as a neutral request in and a reply out."""
