#!/usr/bin/perl
# Sends each request of a requests.tsv (t/hostile/generate.py) to 127.0.0.1:PORT on a
# connection of its own and prints "expected<TAB>got<TAB>label" a line; got is the status of
# the answer, or 0 when the connection closed without one.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my $port = shift or die "usage: send.pl PORT < requests.tsv\n";
my %unescape = (r => "\r", n => "\n", t => "\t", '\\' => '\\');

while (my $line = <STDIN>) {
    next if $line =~ /^#/;
    chomp $line;
    my ($expected, $label, $escaped) = split /\t/, $line, 3;
    (my $raw = $escaped) =~ s/\\(x([0-9a-fA-F]{2})|[rnt\\])/defined $2 ? chr(hex $2) : $unescape{$1}/ge;
    print join("\t", $expected, status_of(send_raw($raw)), $label), "\n";
}

sub send_raw {
    my ($raw) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
        or die "connect: $!";
    local $SIG{PIPE} = 'IGNORE';
    syswrite($s, $raw);  # a server that stops reading early is one of the answers
    my $sel = IO::Select->new($s);
    my $response = '';
    while ($sel->can_read(10)) {
        my $n = sysread($s, $response, 65536, length $response);
        last unless $n;
    }
    close $s;
    return $response;
}

sub status_of {
    my ($response) = @_;
    return $response =~ m{^HTTP/1\.[01] (\d{3})} ? $1 : 0;
}
