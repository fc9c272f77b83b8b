// JDBC (PostgreSQL driver from Debian's libpostgresql-jdbc-java): LISTEN with
// PGConnection.getNotifications, PreparedStatement with typed parameters, a
// batch insert and a transaction. Prints "key=value" lines for the pytest
// wrapper (compat/test_jdbc.py), which runs it against each server.
import java.math.BigDecimal;
import java.sql.*;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

public class NotifyCheck {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/postgres";
        String table = args[2];
        try (Connection listener = DriverManager.getConnection(url, "postgres", "");
             Connection sender = DriverManager.getConnection(url, "postgres", "")) {
            try (Statement st = listener.createStatement()) {
                st.execute("LISTEN jdbc_ch");
            }
            int senderPid;
            try (Statement st = sender.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                senderPid = rs.getInt(1);
            }
            sender.setAutoCommit(false);
            try (PreparedStatement ps = sender.prepareStatement("SELECT pg_notify(?, ?)")) {
                ps.setString(1, "jdbc_ch");
                ps.setString(2, "hello");
                ps.execute();
            }
            sender.commit();
            sender.setAutoCommit(true);
            PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(5000);
            StringBuilder notes = new StringBuilder();
            for (PGNotification n : got == null ? new PGNotification[0] : got) {
                notes.append(n.getName()).append(':').append(n.getParameter()).append(':')
                     .append(n.getPID() == senderPid).append(';');
            }
            System.out.println("notifications=" + notes);

            try (Statement st = sender.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id int PRIMARY KEY, name varchar(20), amount numeric(8,2), at timestamptz)");
            }
            sender.setAutoCommit(false);
            try (PreparedStatement ps = sender.prepareStatement("INSERT INTO " + table + " VALUES (?, ?, ?, ?)")) {
                for (int i = 1; i <= 3; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "n" + i);
                    ps.setBigDecimal(3, new BigDecimal(i).divide(new BigDecimal(4)));
                    ps.setTimestamp(4, Timestamp.valueOf("2024-02-29 13:14:15"));
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            sender.commit();
            try (PreparedStatement ps = sender.prepareStatement("INSERT INTO " + table + " (id) VALUES (?)")) {
                ps.setInt(1, 99);
                ps.executeUpdate();
            }
            sender.rollback();
            sender.setAutoCommit(true);
            try (PreparedStatement ps = sender.prepareStatement("SELECT id, name, amount FROM " + table + " WHERE id >= ? ORDER BY id")) {
                ps.setInt(1, 1);
                StringBuilder rows = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.append(rs.getInt(1)).append(',').append(rs.getString(2)).append(',')
                            .append(rs.getBigDecimal(3)).append(';');
                    }
                }
                System.out.println("rows=" + rows);
            }
            try (Statement st = sender.createStatement()) {
                st.execute("INSERT INTO " + table + " (id) VALUES (1)");
            } catch (SQLException e) {
                System.out.println("error=" + e.getSQLState());
            }
        }
    }
}
